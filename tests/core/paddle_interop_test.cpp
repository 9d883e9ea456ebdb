// The original's Paddle files and HuggingFace checkpoints, against fixtures written independently
// by tools/make_interop_fixtures.py (names from docs/FORMATS.md sorted by Python, bytes laid out by hand,
// torch.save for the .bin files).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/formats/paddle_tensor.h"
#include "mvtag/core/interop/paddle_import.h"
#include "mvtag/core/interop/paddle_names.h"
#include "mvtag/core/interop/pretrained_ernie.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::contains;
using mvtag::test::le32;
using mvtag::test::TempDir;
using mvtag::test::thrown_error;
namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(MVTAG_FIXTURES) + "/interop/";

std::string checkpoint(const std::string& mode, const std::string& file) { return kDir + "checkpoint_" + mode + "/" + file; }

NetConfig net(const std::string& mode) { return read_net_config(checkpoint(mode, "model.json")); }

// A copy of a fixture directory inside `tmp`.
std::string copy_of(const TempDir& tmp, const std::string& fixture) {
  const std::string to = tmp.file(fs::path(fixture).filename().string());
  fs::copy(kDir + fixture, to, fs::copy_options::recursive);
  return to;
}

// Offsets of every record of a combined file, from our reader.
std::vector<std::uint64_t> record_offsets(const std::string& path) {
  PaddleTensorReader reader(path);
  std::vector<std::uint64_t> out;
  while (!reader.at_end()) out.push_back(reader.next().offset);
  return out;
}

}  // namespace

TEST(PaddleNames, CheckpointOrderIsPythonsSortedOrder) {
  for (const std::string mode : {"text_guide", "self_attention"}) {
    std::ifstream in(checkpoint(mode, "names.txt"));
    std::vector<std::string> python;
    for (std::string line; std::getline(in, line);) python.push_back(line);
    const std::vector<ParamMapping> ours = paddle_checkpoint_mapping(net(mode));
    ASSERT_EQ(ours.size(), python.size()) << mode;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      EXPECT_EQ(ours[i].paddle.name + "\t" + shape_string(ours[i].paddle.shape), python[i]) << mode << " #" << i;
    }
  }
}

TEST(PaddleNames, TheOriginalSizesGive227TensorsStartingAtFc72) {
  NetConfig original;  // defaults: the original's conf.txt and ERNIE 1.0 base
  const std::vector<ParamMapping> m = paddle_checkpoint_mapping(original);
  ASSERT_EQ(m.size(), 227u);
  std::size_t ours = 0;
  std::int64_t floats = 0;
  for (const ParamMapping& p : m) {
    ours += p.ours.size();
    std::int64_t n = 1;
    for (std::int64_t d : p.paddle.shape) n *= d;
    floats += n;
  }
  EXPECT_EQ(ours, 231u);
  EXPECT_EQ(floats, 114130288);  // the original's 227 tensors hold as many (docs/FORMATS.md)
  EXPECT_EQ(m[0].paddle.name, "encoder_layer_0_ffn_fc_0.b_0");
  EXPECT_EQ(m[16].paddle.name, "encoder_layer_10_ffn_fc_0.b_0");  // '1' < '_': layer 10 sorts after 0
  EXPECT_EQ(m[192].paddle.name, "fc_72.w_0");
  EXPECT_EQ(m[192].paddle.shape, (std::vector<std::int64_t>{2048, 2048}));
  EXPECT_EQ(m.back().paddle.name, "word_embedding");
  original.lstm_pool_mode = "self";
  const std::vector<ParamMapping> self = paddle_checkpoint_mapping(original);
  EXPECT_EQ(self.size(), 223u);
  EXPECT_EQ(self[192 + 11].paddle.name, "fc_78.w_0");
  EXPECT_EQ(self[192 + 11].paddle.shape, (std::vector<std::int64_t>{2048, 110}));
}

TEST(PaddleImport, ReadsTheCombinedFileIntoOurLayout) {
  for (const std::string mode : {"text_guide", "self_attention"}) {
    const std::vector<NamedArray> ours = import_paddle_params(checkpoint(mode, "param"), net(mode));
    const SafetensorsFile reference = read_safetensors(checkpoint(mode, "ours.safetensors"));
    ASSERT_EQ(ours.size(), reference.tensors.size()) << mode;
    for (const NamedArray& a : ours) {
      const NDArray* r = reference.find(a.name);
      ASSERT_NE(r, nullptr) << a.name;
      EXPECT_EQ(a.array.shape, r->shape) << a.name;
      EXPECT_EQ(a.array.data, r->data) << a.name;  // transposes, conv filters and LSTM splits exact
    }
  }
}

TEST(PaddleImport, ExportWritesPythonsBytes) {
  TempDir tmp("interop");
  for (const std::string mode : {"text_guide", "self_attention"}) {
    const SafetensorsFile reference = read_safetensors(checkpoint(mode, "ours.safetensors"));
    export_paddle_params(tmp.file(mode), net(mode), reference.tensors);
    EXPECT_EQ(read_file(tmp.file(mode)), read_file(checkpoint(mode, "param"))) << mode;
  }
}

TEST(PaddleImport, ExportNamesEveryMissingUnexpectedAndMisshapedTensor) {
  TempDir tmp("interop");
  std::vector<NamedArray> tensors = read_safetensors(checkpoint("text_guide", "ours.safetensors")).tensors;
  tensors.erase(tensors.begin());
  tensors.push_back({"image.extra", NDArray::from_float({1}, {1.0f})});
  tensors[3].array = NDArray::from_float({1}, {1.0f});
  const std::string name3 = tensors[3].name;
  const Error e = thrown_error([&] { export_paddle_params(tmp.file("p"), net("text_guide"), tensors); });
  EXPECT_EQ(e.kind(), ErrorKind::Model);
  EXPECT_TRUE(contains(e.what(), "missing audio.attention.score_fc.bias [1]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "unexpected 'image.extra'")) << e.what();
  EXPECT_TRUE(contains(e.what(), "'" + name3 + "' is [1] float32")) << e.what();
  EXPECT_FALSE(path_exists(tmp.file("p")));
}

TEST(PaddleImport, AWrongModeFailsAtTheFirstTensorThatDoesNotFit) {
  const std::string self_file = checkpoint("self_attention", "param");
  const Error e = thrown_error([&] { import_paddle_params(self_file, net("text_guide")); });
  EXPECT_EQ(e.kind(), ErrorKind::Model);
  const std::string offset = std::to_string(record_offsets(self_file)[35]);
  EXPECT_TRUE(contains(e.what(), self_file + ": tensor #35 at byte " + offset +
                                     ": expected fc_14.b_0 [8], found [1] — is lstm_pool_mode right? "
                                     "(a self-attention checkpoint has fc_14.b_0 [1] here)"))
      << e.what();
  const Error back =
      thrown_error([&] { import_paddle_params(checkpoint("text_guide", "param"), net("self_attention")); });
  EXPECT_TRUE(contains(back.what(), "tensor #35 at byte")) << back.what();
  EXPECT_TRUE(contains(back.what(), "is lstm_pool_mode right? (a text_guide checkpoint has fc_14.b_0 [8] here)"))
      << back.what();
}

TEST(PaddleImport, OtherSizeMismatchesNameTheLikelyKeys) {
  NetConfig wrong_classes = net("text_guide");
  wrong_classes.num_classes = 5;
  const Error e = thrown_error([&] { import_paddle_params(checkpoint("text_guide", "param"), wrong_classes); });
  EXPECT_TRUE(contains(e.what(), "expected fc_16.b_0 [5], found [4] — do MODEL.num_classes")) << e.what();
  NetConfig wrong_ernie = net("text_guide");
  wrong_ernie.ernie.intermediate_size = 12;
  const Error e2 = thrown_error([&] { import_paddle_params(checkpoint("text_guide", "param"), wrong_ernie); });
  EXPECT_TRUE(contains(e2.what(), "tensor #0 at byte 0: expected encoder_layer_0_ffn_fc_0.b_0 [12], found [32] — does "
                                  "the ERNIE config match"))
      << e2.what();
}

TEST(PaddleImport, TruncatedShortLongAndMistypedFiles) {
  TempDir tmp("interop");
  const std::string good = read_file(checkpoint("text_guide", "param"));
  const std::vector<std::uint64_t> offsets = record_offsets(checkpoint("text_guide", "param"));
  ASSERT_EQ(offsets.size(), 67u);
  const NetConfig config = net("text_guide");

  write_file_atomic(tmp.file("cut"), good.substr(0, good.size() - 10));
  const Error cut = thrown_error([&] { import_paddle_params(tmp.file("cut"), config); });
  EXPECT_EQ(cut.kind(), ErrorKind::Data);
  EXPECT_TRUE(contains(cut.what(), "tensor 'word_embedding'")) << cut.what();
  EXPECT_TRUE(contains(cut.what(), "tensor #66 at byte " + std::to_string(offsets[66]))) << cut.what();
  EXPECT_TRUE(contains(cut.what(), "truncated")) << cut.what();

  write_file_atomic(tmp.file("short"), good.substr(0, static_cast<std::size_t>(offsets[66])));
  const Error shorter = thrown_error([&] { import_paddle_params(tmp.file("short"), config); });
  EXPECT_TRUE(contains(shorter.what(), "the file ends after 66 tensors")) << shorter.what();
  EXPECT_TRUE(contains(shorter.what(), "this configuration has 67, the next being word_embedding [24, 8]"))
      << shorter.what();

  write_file_atomic(tmp.file("long"), good + good.substr(0, static_cast<std::size_t>(offsets[1])));
  const Error longer = thrown_error([&] { import_paddle_params(tmp.file("long"), config); });
  EXPECT_TRUE(contains(longer.what(), "tensor #67 at byte " + std::to_string(good.size()) +
                                          ": the file holds more than the 67 tensors"))
      << longer.what();

  // The first record (encoder_layer_0_ffn_fc_0.b_0, [32]) as FP64: TensorDesc data_type 6.
  std::string typed = le32(0) + std::string(8, '\0') + le32(0) + le32(4) + "\x08\x06\x10\x20" + std::string(32 * 8, '\0');
  write_file_atomic(tmp.file("typed"), typed + good.substr(static_cast<std::size_t>(offsets[1])));
  const Error mistyped = thrown_error([&] { import_paddle_params(tmp.file("typed"), config); });
  EXPECT_TRUE(contains(mistyped.what(),
                       "tensor #0 at byte 0: expected encoder_layer_0_ffn_fc_0.b_0 as float32 (FP32), found float64"))
      << mistyped.what();
}

TEST(PaddleImport, FindsTheCombinedFile) {
  TempDir tmp("interop");
  fs::create_directories(tmp.file("ckpt"));
  write_file_atomic(tmp.file("ckpt/param"), "x");
  EXPECT_EQ(find_paddle_params(tmp.file("ckpt")), tmp.file("ckpt/param"));
  fs::create_directories(tmp.file("inference"));
  write_file_atomic(tmp.file("inference/model"), "x");
  write_file_atomic(tmp.file("inference/params"), "x");
  EXPECT_EQ(find_paddle_params(tmp.file("inference") + "/"), tmp.file("inference/params"));
  EXPECT_EQ(find_paddle_params(tmp.file("ckpt/param")), tmp.file("ckpt/param"));
  const Error e = thrown_error([&] { find_paddle_params(tmp.path()); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
  EXPECT_TRUE(contains(e.what(), "holds neither 'param'")) << e.what();
  EXPECT_EQ(thrown_error([&] { find_paddle_params(tmp.file("nothing")); }).kind(), ErrorKind::Io);
}

// ---------------------------------------------------------------------------------------------
// Pretrained ERNIE directories.

TEST(PretrainedErnie, EveryKindGivesTheSameWeights) {
  const PretrainedErnie paddle = read_pretrained_ernie(kDir + "ernie_paddle");
  EXPECT_EQ(paddle.format, "paddle");
  EXPECT_EQ(paddle.config.intermediate_size, 32);  // 4 x hidden: the Paddle config has no key
  EXPECT_EQ(paddle.unused, (std::vector<std::string>{"mask_lm_out_fc.b_0", "next_sent_fc.w_0", "pooled_fc.b_0",
                                                     "pooled_fc.w_0"}));
  ASSERT_EQ(paddle.weights.tensors.size(), 37u);
  EXPECT_EQ(paddle.weights.tensors[0].name, "ernie.word_embeddings.weight");
  for (const std::string dir : {"ernie_hf_zip", "ernie_hf_legacy", "ernie_hf_safetensors"}) {
    const PretrainedErnie hf = read_pretrained_ernie(kDir + dir);
    EXPECT_EQ(hf.format, "huggingface") << dir;
    EXPECT_TRUE(contains(hf.config_path, "config.json")) << dir;
    ASSERT_EQ(hf.weights.tensors.size(), paddle.weights.tensors.size()) << dir;
    for (std::size_t i = 0; i < hf.weights.tensors.size(); ++i) {
      EXPECT_EQ(hf.weights.tensors[i].name, paddle.weights.tensors[i].name) << dir;
      EXPECT_EQ(hf.weights.tensors[i].array.shape, paddle.weights.tensors[i].array.shape) << dir;
      EXPECT_EQ(hf.weights.tensors[i].array.data, paddle.weights.tensors[i].array.data) << dir << " " << i;
    }
  }
  EXPECT_EQ(read_pretrained_ernie(kDir + "ernie_hf_zip").unused,
            (std::vector<std::string>{"ernie.embeddings.position_ids", "ernie.pooler.dense.weight",
                                      "ernie.pooler.dense.bias", "cls.predictions.bias"}));
  EXPECT_TRUE(read_pretrained_ernie(kDir + "ernie_hf_safetensors").unused.empty());
}

// The directory is joined with each file name once, whether or not it ends in '/'.
TEST(PretrainedErnie, FilePathsAreTheSameWithOrWithoutATrailingSlash) {
  const std::string dir = kDir + "ernie_hf_safetensors";
  for (const std::string& given : {dir, dir + "/"}) {
    const PretrainedErnie e = read_pretrained_ernie(given);
    EXPECT_EQ(e.vocab_path, dir + "/vocab.txt") << given;
    EXPECT_EQ(e.config_path, dir + "/config.json") << given;
    EXPECT_EQ(e.source, dir + "/model.safetensors") << given;
  }
}

TEST(PretrainedErnie, AHandAssembledPaddleFileIsReadAsIs) {
  TempDir tmp("interop");
  const std::string dir = copy_of(tmp, "ernie_paddle");
  // sent_embedding [2, 8] = 0, 1, ..., 15: LoDTensor v0, no LoD, TensorDesc {FP32, dims 2, 8}.
  std::vector<float> values(16);
  for (int i = 0; i < 16; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const std::string record = le32(0) + std::string(8, '\0') + le32(0) + le32(6) + "\x08\x05\x10\x02\x10\x08" +
                             std::string(reinterpret_cast<const char*>(values.data()), 64);
  ASSERT_EQ(record.size(), 4u + 8 + 4 + 4 + 6 + 64);
  write_file_atomic(dir + "/sent_embedding", record);
  const PretrainedErnie e = read_pretrained_ernie(dir);
  const NDArray* sent = e.weights.find("ernie.sentence_embeddings.weight");
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->to_float(), values);  // embeddings are not transposed
  // fc weights are: ours[o][i] = Paddle[i][o].
  const NDArray paddle_query = read_paddle_tensor(dir + "/encoder_layer_1_multi_head_att_query_fc.w_0");
  const std::vector<float> p = paddle_query.to_float(), o = e.weights.find("ernie.layers.1.attention.query.weight")->to_float();
  EXPECT_EQ(o[1 * 8 + 5], p[5 * 8 + 1]);
  EXPECT_EQ(o[7 * 8 + 2], p[2 * 8 + 7]);
}

TEST(PretrainedErnie, APaddleDirectoryThatDoesNotFitNamesEveryFile) {
  TempDir tmp("interop");
  const std::string dir = copy_of(tmp, "ernie_paddle");
  fs::remove(dir + "/encoder_layer_1_ffn_fc_1.b_0");
  fs::copy_file(dir + "/encoder_layer_1_ffn_fc_0.b_0", dir + "/encoder_layer_2_ffn_fc_0.b_0");
  fs::copy_file(dir + "/pre_encoder_layer_norm_bias", dir + "/pos_embedding", fs::copy_options::overwrite_existing);
  const Error e = thrown_error([&] { read_pretrained_ernie(dir); });
  EXPECT_EQ(e.kind(), ErrorKind::Model);
  EXPECT_TRUE(contains(e.what(), "3 problems")) << e.what();
  EXPECT_TRUE(contains(e.what(), "missing file encoder_layer_1_ffn_fc_1.b_0 [8]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "unexpected parameter file 'encoder_layer_2_ffn_fc_0.b_0'")) << e.what();
  EXPECT_TRUE(contains(e.what(), "'pos_embedding' is [8], expected [12, 8]")) << e.what();
}

TEST(PretrainedErnie, AHuggingFaceFileThatDoesNotFitNamesEveryTensor) {
  TempDir tmp("interop");
  const std::string dir = copy_of(tmp, "ernie_hf_safetensors");
  std::vector<NamedArray> tensors = read_safetensors(dir + "/model.safetensors").tensors;
  for (NamedArray& t : tensors) {
    if (t.name == "encoder.layer.0.output.dense.bias") t.array = NDArray::from_float({2}, {1, 2});
  }
  tensors.erase(tensors.begin() + 1);  // embeddings.position_embeddings.weight
  tensors.push_back({"classifier.weight", NDArray::from_float({1}, {1})});
  tensors.push_back({"encoder.layer.0.output.LayerNorm.gamma", tensors[3].array});
  write_safetensors(dir + "/model.safetensors", tensors);
  const Error e = thrown_error([&] { read_pretrained_ernie(dir); });
  EXPECT_EQ(e.kind(), ErrorKind::Model);
  EXPECT_TRUE(contains(e.what(), "missing ernie.position_embeddings.weight [12, 8]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "'encoder.layer.0.output.dense.bias' is [2], expected [8]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "unexpected 'classifier.weight' [1]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "'encoder.layer.0.output.LayerNorm.gamma' and 'encoder.layer.0.output.LayerNorm.weight' "
                                 "are both ernie.layers.0.ffn_norm.weight"))
      << e.what();
}

TEST(PretrainedErnie, HalfPrecisionWeightsBecomeFloat32) {
  TempDir tmp("interop");
  const std::string dir = copy_of(tmp, "ernie_hf_safetensors");
  std::vector<NamedArray> tensors = read_safetensors(dir + "/model.safetensors").tensors;
  NDArray half;
  half.dtype = DType::F16;
  half.shape = {8};
  for (int i = 0; i < 8; ++i) {
    const std::uint16_t h = float_to_half(0.5f * static_cast<float>(i));
    half.data.push_back(static_cast<std::uint8_t>(h & 0xff));
    half.data.push_back(static_cast<std::uint8_t>(h >> 8));
  }
  for (NamedArray& t : tensors) {
    if (t.name == "embeddings.LayerNorm.bias") t.array = half;
  }
  write_safetensors(dir + "/model.safetensors", tensors);
  const PretrainedErnie e = read_pretrained_ernie(dir);
  const NDArray* bias = e.weights.find("ernie.embedding_norm.bias");
  EXPECT_EQ(bias->dtype, DType::F32);
  EXPECT_EQ(bias->to_float(), (std::vector<float>{0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f}));
}

TEST(PretrainedErnie, ConvertedDirectoriesReadBackAsOurs) {
  TempDir tmp("interop");
  const PretrainedErnie legacy = read_pretrained_ernie(kDir + "ernie_hf_legacy");
  write_ernie_directory(legacy, tmp.file("ours"));
  const PretrainedErnie ours = read_pretrained_ernie(tmp.file("ours"));
  EXPECT_EQ(ours.format, "mvtag");
  EXPECT_EQ(ours.config.hidden_size, 8);
  EXPECT_EQ(ours.config.intermediate_size, 32);
  ASSERT_EQ(ours.weights.tensors.size(), legacy.weights.tensors.size());
  for (std::size_t i = 0; i < ours.weights.tensors.size(); ++i) {
    EXPECT_EQ(ours.weights.tensors[i].name, legacy.weights.tensors[i].name);
    EXPECT_EQ(ours.weights.tensors[i].array.data, legacy.weights.tensors[i].array.data);
  }
  EXPECT_EQ(read_file(tmp.file("ours/vocab.txt")), read_file(kDir + "ernie_hf_legacy/vocab.txt"));
  EXPECT_EQ(read_safetensors(tmp.file("ours/ernie.safetensors")).metadata.at("converted_from"), "huggingface");
}

TEST(PretrainedErnie, AConfigOnlyDirectoryHasNoWeights) {
  TempDir tmp("interop");
  fs::create_directories(tmp.file("cfg"));
  fs::copy_file(kDir + "ernie_paddle/ernie_config.json", tmp.file("cfg/ernie_config.json"));
  fs::copy_file(kDir + "ernie_paddle/vocab.txt", tmp.file("cfg/vocab.txt"));
  const PretrainedErnie e = read_pretrained_ernie(tmp.file("cfg"));
  EXPECT_EQ(e.format, "none");
  EXPECT_TRUE(e.weights.tensors.empty());
  const Error nothing = thrown_error([&] { write_ernie_directory(e, tmp.file("out")); });
  EXPECT_TRUE(contains(nothing.what(), "holds no ERNIE weights")) << nothing.what();
  fs::remove(tmp.file("cfg/vocab.txt"));
  EXPECT_TRUE(contains(thrown_error([&] { read_pretrained_ernie(tmp.file("cfg")); }).what(), "vocab.txt is missing"));
}
