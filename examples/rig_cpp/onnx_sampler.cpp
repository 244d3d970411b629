// Generate windows live from an exported model with the ONNX Runtime C++ API.
//
//   g++ -O2 -std=c++17 onnx_sampler.cpp -I$ORT/include -L$ORT/lib -lonnxruntime -o onnx_sampler
//   ./onnx_sampler models/retina/1/model.onnx
//
// ($ORT: an onnxruntime release from github.com/microsoft/onnxruntime/releases.) The model's
// inputs and outputs, also stored in its metadata (key "spikegan"):
//   z      float32 (batch, latent_dim)          standard normal draws
//   u      float32 (batch, n_neurons, n_bins)   uniform [0, 1) draws
//   probs  float32 (batch, n_neurons, n_bins)   firing probabilities
//   spikes uint8   (batch, n_neurons, n_bins)   u < probs
// The draws here come from std::mt19937, not from numpy's generators, so the windows are not
// those of the Python runtime for the same seed; for a replayable session, pre-generate it
// (`spikegan sample --session`) and play it with session_player.cpp.
#include <onnxruntime_cxx_api.h>

#include <array>
#include <cstdio>
#include <random>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]); return 2; }
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "spikegan");
  Ort::SessionOptions opts;
  opts.SetIntraOpNumThreads(1);  // one window at a time: lowest latency on one thread
  opts.AddConfigEntry("session.intra_op.allow_spinning", "0");
  opts.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
  Ort::Session session(env, argv[1], opts);

  const auto z_shape = session.GetInputTypeInfo(0).GetTensorTypeAndShapeInfo().GetShape();
  const auto u_shape = session.GetInputTypeInfo(1).GetTensorTypeAndShapeInfo().GetShape();
  const int64_t latent = z_shape[1], n_neurons = u_shape[1], n_bins = u_shape[2];
  std::array<int64_t, 2> zs{1, latent};
  std::array<int64_t, 3> us{1, n_neurons, n_bins};
  std::vector<float> z(latent), u(n_neurons * n_bins);
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;

  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const char* inputs[] = {"z", "u"};
  const char* outputs[] = {"spikes"};
  for (int tick = 0; tick < 10; ++tick) {
    for (auto& v : z) v = normal(rng);
    for (auto& v : u) v = uniform(rng);
    std::array<Ort::Value, 2> in{
        Ort::Value::CreateTensor<float>(mem, z.data(), z.size(), zs.data(), zs.size()),
        Ort::Value::CreateTensor<float>(mem, u.data(), u.size(), us.data(), us.size())};
    auto out = session.Run(Ort::RunOptions{nullptr}, inputs, in.data(), 2, outputs, 1);
    const uint8_t* spikes = out[0].GetTensorData<uint8_t>();  // spikes[j * n_bins + k]
    long total = 0;
    for (int64_t e = 0; e < n_neurons * n_bins; ++e) total += spikes[e];
    std::printf("tick %d: %ld spikes\n", tick, total);
  }
  return 0;
}
