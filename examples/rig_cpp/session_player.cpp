// Play a pre-generated spikegan session on a rig written in C++ (no Python, no ONNX Runtime).
//
//   spikegan sample --model models/retina/1/model.onnx --n 3600000 --seed 7 --out session.npy
//       --session       (one command; writes session.npy and session.json)
//   g++ -O2 -std=c++17 -o session_player session_player.cpp
//   ./session_player session.npy 128 50 32 [first_window] [n_windows]
//
// The numbers are `data_offset` and `shape` from session.json (the replay record): window i,
// neuron j, bin k is the byte at data_offset + (i * n_neurons + j) * n_bins + k, value 0/1.
// The file is memory-mapped, so an hour-long session costs no load time and no RAM up front.
// This program prints, for each window asked for, its index and spike count (what a rig would
// turn into stimulation commands at each tick).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s SESSION.npy DATA_OFFSET N_NEURONS N_BINS [FIRST] [COUNT]\n",
                 argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const long offset = std::atol(argv[2]), n_neurons = std::atol(argv[3]),
             n_bins = std::atol(argv[4]);
  const long first = argc > 5 ? std::atol(argv[5]) : 0, count = argc > 6 ? std::atol(argv[6]) : 1;
  const int fd = open(path, O_RDONLY);
  if (fd < 0) { std::perror(path); return 2; }
  struct stat st;
  fstat(fd, &st);
  const long window = n_neurons * n_bins;
  const long n_windows = (st.st_size - offset) / window;
  if (offset < 0 || window <= 0 || first < 0 || first + count > n_windows) {
    std::fprintf(stderr, "%s: holds %ld windows of %ld x %ld; asked for %ld..%ld\n", path,
                 n_windows, n_neurons, n_bins, first, first + count - 1);
    return 2;
  }
  void* map = mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { std::perror("mmap"); return 2; }
  const uint8_t* spikes = static_cast<const uint8_t*>(map) + offset;
  for (long i = first; i < first + count; ++i) {  // one window per rig tick
    const uint8_t* w = spikes + i * window;       // w[j * n_bins + k]: neuron j, bin k
    long total = 0;
    for (long e = 0; e < window; ++e) total += w[e];
    std::printf("%ld %ld\n", i, total);
  }
  munmap(map, st.st_size);
  close(fd);
  return 0;
}
