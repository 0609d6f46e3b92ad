#include "gpu/catalogue.h"

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace platsim::gpu {
namespace {

TEST(Catalogue, TheBundledCatalogueHasTheThreeModelsWithConsistentShapes) {
  std::vector<std::string> errors;
  const auto models = LoadCatalogue(
      (platsim::testing::SourceDir() / "gpu/catalogue/models.json").string(), &errors);
  ASSERT_TRUE(models.has_value()) << (errors.empty() ? "" : errors[0]);
  ASSERT_EQ(models->size(), 3u);
  const ModelShape& llama = (*models)[1];
  EXPECT_EQ(llama.name, "llama-3-8b");
  EXPECT_EQ(llama.head_dim(), 128);
  EXPECT_EQ(llama.heads / llama.kv_heads, 4) << "grouped-query attention, 4 queries per KV head";
  EXPECT_EQ((*models)[0].head_dim(), 64);
  EXPECT_EQ((*models)[2].architecture, Architecture::kMlp);
}

TEST(Catalogue, ReportsEveryBadFieldAndSyntaxErrorsWithTheirLine) {
  std::vector<std::string> errors;
  EXPECT_FALSE(ParseCatalogue(R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "ModelCatalogue",
    "models": [{"name": "x", "architecture": "decoder", "layers": 2, "hidden": 100,
                "heads": 3, "kvHeads": 2, "ffn": 10, "vocab": 5, "norm": "batchnorm",
                "activation": "gelu", "colour": "red"}]})",
                              "c.json", &errors)
                   .has_value());
  std::string all;
  for (const auto& e : errors)
    all += e + "\n";
  EXPECT_NE(all.find("c.json: models[0].heads: must divide hidden"), std::string::npos) << all;
  EXPECT_NE(all.find("models[0].kvHeads: must divide heads"), std::string::npos) << all;
  EXPECT_NE(all.find("models[0].norm: expected one of: layernorm, rmsnorm"), std::string::npos)
      << all;
  EXPECT_NE(all.find("models[0].colour: unknown field"), std::string::npos) << all;

  errors.clear();
  EXPECT_FALSE(ParseCatalogue("{\n  \"models\": [\n    1,,\n]}", "s.json", &errors).has_value());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("s.json:3:", 0), 0u) << errors[0];
}

TEST(DeviceCatalogue, TheBundledDevicesCarryTheirDatasheetFiguresAndSources) {
  std::vector<std::string> errors;
  const auto devices = LoadDeviceCatalogue(
      (platsim::testing::SourceDir() / "gpu/catalogue/devices.json").string(), &errors);
  ASSERT_TRUE(devices.has_value()) << (errors.empty() ? "" : errors[0]);
  ASSERT_EQ(devices->size(), 4u);
  EXPECT_EQ((*devices)[0].name, "H100-SXM");
  EXPECT_DOUBLE_EQ((*devices)[0].memory_bandwidth_gbps, 3350);
  for (const auto& d : *devices) {
    EXPECT_FALSE(d.source.empty()) << d.name;
    // Every device has a link for tensor parallelism, said where from.
    EXPECT_GT(d.interconnect_gbps, 0) << d.name;
    EXPECT_GT(d.collective_latency_us, 0) << d.name;
    EXPECT_FALSE(d.interconnect_source.empty()) << d.name;
  }
  // NVLink 4: 900 GB/s both ways.
  EXPECT_DOUBLE_EQ((*devices)[0].interconnect_gbps, 450);
}

TEST(DeviceCatalogue, AnInterconnectNeedsItsFiguresAndSource) {
  std::vector<std::string> errors;
  EXPECT_FALSE(ParseDeviceCatalogue(R"({"apiVersion": "platsim.dev/v1alpha1",
    "kind": "DeviceCatalogue", "devices": [{"name": "X", "bf16DenseTflops": 1,
    "memoryBandwidthGBps": 1, "memoryGiB": 8, "source": "s",
    "interconnect": {"name": "link", "gbpsPerDirection": -4}}]})",
                                    "d.json", &errors)
                   .has_value());
  std::string all;
  for (const auto& e : errors)
    all += e + "\n";
  EXPECT_NE(all.find("devices[0].interconnect.gbpsPerDirection: required number"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("devices[0].interconnect.collectiveLatencyUs"), std::string::npos) << all;
  EXPECT_NE(all.find("devices[0].interconnect.source: say where"), std::string::npos) << all;
}

TEST(DeviceCatalogue, ReportsMissingFiguresByFieldPath) {
  std::vector<std::string> errors;
  EXPECT_FALSE(ParseDeviceCatalogue(R"({"apiVersion": "platsim.dev/v1alpha1",
    "kind": "DeviceCatalogue", "devices": [{"name": "X", "bf16DenseTflops": -1,
    "memoryGiB": 8}]})",
                                    "d.json", &errors)
                   .has_value());
  std::string all;
  for (const auto& e : errors)
    all += e + "\n";
  EXPECT_NE(all.find("d.json: devices[0].bf16DenseTflops: required positive number"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("devices[0].memoryBandwidthGBps"), std::string::npos) << all;
  EXPECT_NE(all.find("devices[0].source: say where the figures come from"), std::string::npos)
      << all;
}

TEST(Catalogues, RefuseTheWrongKindAndAMissingListWithTheFieldNamed) {
  std::vector<std::string> errors;
  const std::string devices = R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "DeviceCatalogue",
                                  "devices": []})";
  EXPECT_FALSE(ParseCatalogue(devices, "d.json", &errors).has_value());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "d.json: kind: expected apiVersion platsim.dev/v1alpha1 and kind "
            "ModelCatalogue");
  errors.clear();
  EXPECT_FALSE(
      ParseDeviceCatalogue(R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "DeviceCatalogue"})",
                           "e.json", &errors)
          .has_value());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "e.json: devices: expected a list of devices");
  errors.clear();
  EXPECT_TRUE(ParseDeviceCatalogue(devices, "d.json", &errors).has_value()) << errors[0];
}

}  // namespace
}  // namespace platsim::gpu
