// spec (a default config.json) and features (what this runtime supports)
#include <seccomp.h>
#include <sys/capability.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "base/files.h"
#include "cli/oci/cli.h"
#include "engine/mount_options.h"
#include "seccomp/seccomp.h"

namespace berth::oci_cli {

void register_spec(CLI::App& app, Registry& r) {
  auto* spec = app.add_subcommand("spec", "write a default config.json");
  static std::string bundle = ".";
  static bool rootless = false, seccomp_default = false;
  spec->add_option("-b,--bundle", bundle, "where to write config.json");
  spec->add_flag("--rootless", rootless, "a config for a user namespace mapped to the caller");
  spec->add_flag("--seccomp-default", seccomp_default, "include the default seccomp profile");
  spec->callback([&r] {
    *r.chosen = []() -> Result<int> {
      std::string path = bundle + "/config.json";
      if (path_exists(path)) return make_error("file {} exists; remove it first", path);
      auto j = oci::to_json(oci::default_spec(rootless));
      if (seccomp_default) j["linux"]["seccomp"] = seccomp::default_profile();
      TRY(write_file_atomic(path, j.dump(4) + "\n", 0644));
      return 0;
    };
  });

  auto* features = app.add_subcommand("features", "print what this runtime supports, as JSON");
  features->callback([&r] {
    *r.chosen = []() -> Result<int> {
      std::vector<std::string> caps;
      for (int c = 0; c <= 63; c++) {
        char* n = cap_to_name(c);
        if (n && std::string(n).rfind("cap_", 0) == 0) {
          std::string up = n;
          for (auto& ch : up) ch = static_cast<char>(toupper(ch));
          caps.push_back(up);
        }
        if (n) cap_free(n);
      }
      const struct scmp_version* v = seccomp_version();
      nlohmann::json j = {
          {"ociVersionMin", "1.0.0"},
          {"ociVersionMax", oci::kOciVersion},
          {"hooks",
           {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
            "poststop"}},
          {"mountOptions", engine::known_mount_options()},
          {"linux",
           {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
            {"capabilities", caps},
            {"cgroup",
             {{"v1", true},
              {"v2", true},
              {"systemd", false},
              {"systemdUser", false},
              {"rdma", false}}},
            {"seccomp",
             {{"enabled", true},
              {"actions",
               {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                "SCMP_ACT_TRAP"}},
              {"operators",
               {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
              {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}},
              {"knownFlags",
               {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}},
              {"supportedFlags",
               {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}}},
            {"apparmor", {{"enabled", false}}},
            {"selinux", {{"enabled", false}}},
            {"intelRdt", {{"enabled", false}}},
            {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
          {"annotations",
           {{"io.github.berth.version", "0.1.0"},
            {"io.github.seccomp.libseccomp.version",
             fmt::format("{}.{}.{}", v->major, v->minor, v->micro)}}}};
      std::cout << j.dump(4) << "\n";
      return 0;
    };
  });
}

}  // namespace berth::oci_cli
