// berth image import|import-oci|build|list|remove|export: the image store
// (image/image.h).
// Progress is a bar on stderr when it is a terminal, plain lines on stdout
// otherwise.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "image/image.h"
#include "manager/created.h"

namespace berth::cli {

namespace {

std::string mib(uint64_t n) {
  return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
}

class ProgressView {
 public:
  image::Progress callback() {
    return
        [this](std::string_view step, uint64_t done, uint64_t total) { show(step, done, total); };
  }
  // Clears the bar (before the result or an error is printed).
  void end() {
    if (drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  void show(std::string_view step, uint64_t done, uint64_t total) {
    int pct = total ? static_cast<int>(std::min<uint64_t>(100, done * 100 / total)) : -1;
    if (step != step_) {
      step_ = step;
      last_pct_ = -1;
      last_mib_ = 0;
    }
    if (!tty_) {  // a line at each tenth, or each 256 MiB when the size is unknown
      if (pct >= 0 ? pct / 10 == last_pct_ / 10 && last_pct_ >= 0 : done < last_mib_ + (256 << 20))
        return;
      last_pct_ = pct;
      last_mib_ = done;
      if (pct >= 0)
        std::printf("%s: %d%% (%s of %s)\n", step_.c_str(), pct, mib(done).c_str(),
                    mib(total).c_str());
      else
        std::printf("%s: %s\n", step_.c_str(), mib(done).c_str());
      std::fflush(stdout);
      return;
    }
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && pct != 100) return;
    last_draw_ = now;
    drawn_ = true;
    if (pct < 0) {
      std::fprintf(stderr, "\r\033[K%s %s", step_.c_str(), mib(done).c_str());
      return;
    }
    std::string bar(30, ' ');
    for (int i = 0; i < pct * 30 / 100; i++) bar[i] = '#';
    std::fprintf(stderr, "\r\033[K%-8s [%s] %3d%% %s of %s", step_.c_str(), bar.c_str(), pct,
                 mib(done).c_str(), mib(total).c_str());
  }

  bool tty_ = ::isatty(STDERR_FILENO);
  bool drawn_ = false;
  std::string step_;
  int last_pct_ = -1;
  uint64_t last_mib_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

// SIGINT (^C), SIGTERM and SIGHUP stop an import or export, which then
// removes what it made and fails with "interrupted".
void stop_on_signals() {
  struct sigaction sa = {};
  sa.sa_handler = [](int) { image::cancel(); };
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

int fail(const char* verb, const std::string& name, const Error& e) {
  std::fprintf(stderr, "berth: image %s %s: %s\n", verb, name.c_str(), one_line(e.message).c_str());
  return 1;
}

// `image import` (a tar) and, with oci, `image import-oci` (an OCI layout).
void register_import(CLI::App& img, Context& ctx, bool oci) {
  struct Opts {
    std::string name, source, checksum, max_size;
    bool keep_setid = false, force = false, no_verify = false;
    uint64_t max_entries = image::Limits{}.max_entries;
  };
  auto o = std::make_shared<Opts>();
  const char* verb = oci ? "import-oci" : "import";
  auto* cmd = img.add_subcommand(
      verb, oci ? "import an OCI image layout (a directory, or an oci-archive tar) as image NAME: "
                  "its layers in order, its config's Env, Entrypoint, Cmd, WorkingDir and User "
                  "the defaults of a command container on it"
                : "import a tar (.tar, .tar.gz, .tar.xz, .tar.zst) from a file or an http(s) URL "
                  "as image NAME");
  cmd->add_option("name", o->name, "image name")->required();
  if (oci) {
    cmd->add_option("source", o->source,
                    "the layout directory or oci-archive, and the tag when it holds several")
        ->required()
        ->type_name("PATH[:TAG]");
  } else {
    cmd->add_option("source", o->source, "the archive: a file, or an http:// or https:// URL")
        ->required()
        ->type_name("FILE|URL");
    cmd->add_option("--checksum", o->checksum,
                    "its SHA-256; a URL without it needs a SHA256SUMS file beside it")
        ->type_name("SHA256");
    cmd->add_flag("--no-verify", o->no_verify,
                  "import a URL with neither --checksum nor SHA256SUMS");
  }
  cmd->add_flag("--keep-setid", o->keep_setid,
                "keep set-uid/set-gid bits and file capabilities (dropped by default)");
  cmd->add_flag("--force", o->force, "replace an image of that name");
  cmd->add_option("--max-entries", o->max_entries, "refuse an archive of more entries")
      ->capture_default_str();
  cmd->add_option("--max-size", o->max_size,
                  "refuse an archive of more file data than this (default 64G)")
      ->type_name("SIZE");
  cmd->callback([&ctx, o, oci, verb] {
    image::ImportOptions io;
    io.checksum = o->checksum;
    io.verify = !o->no_verify;
    io.keep_setid = o->keep_setid;
    io.force = o->force;
    io.limits.max_entries = o->max_entries;
    if (!o->max_size.empty()) {
      auto s = decl::parse_size(o->max_size);
      if (!s) {
        ctx.exit_code = fail(verb, o->name,
                             make_error("--max-size {}: expected a size (64G, 512M)", o->max_size));
        return;
      }
      io.limits.max_bytes = *s;
    }
    ProgressView view;
    io.progress = view.callback();
    stop_on_signals();
    auto r = oci ? image::import_oci(ctx.paths(), o->name, o->source, io)
                 : image::import(ctx.paths(), o->name, o->source, io);
    view.end();
    if (!r) {
      ctx.exit_code = fail(verb, o->name, r.error());
      return;
    }
    for (auto& s : r->skipped)
      std::fprintf(stderr, "berth: image %s %s: skipped %s\n", verb, o->name.c_str(), s.c_str());
    std::printf("%s image %s: %s, %llu entries, %s of files, sha256 %s\n",
                r->replaced ? "replaced" : "imported", o->name.c_str(), r->meta.format.c_str(),
                static_cast<unsigned long long>(r->meta.entries), mib(r->meta.tree_bytes).c_str(),
                r->meta.sha256.c_str());
  });
}

void register_image_list(CLI::App& img, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = img.add_subcommand("list", "the images, with origin, size and when imported");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&ctx, json] {
    auto r = image::list(ctx.paths());
    if (!r) {
      ctx.exit_code = fail("list", "", r.error());
      return;
    }
    nlohmann::json all = nlohmann::json::array();
    if (!*json && !r->empty())
      std::printf("%-24s %-8s %10s %-20s %s\n", "NAME", "FORMAT", "SIZE", "CREATED", "ORIGIN");
    for (auto& l : *r) {
      if (*json) {
        all.push_back(l.meta ? nlohmann::json::parse(image::to_json(*l.meta))
                             : nlohmann::json{{"name", l.name}, {"error", l.error}});
      } else if (l.meta) {
        std::printf("%-24s %-8s %10s %-20s %s\n", l.name.c_str(), l.meta->format.c_str(),
                    mib(l.meta->tree_bytes).c_str(), l.meta->created.c_str(),
                    l.meta->origin.c_str());
      } else {
        std::printf("%-24s (%s)\n", l.name.c_str(), l.error.c_str());
      }
    }
    if (*json) std::printf("%s\n", all.dump(2).c_str());
  });
}

void register_image_remove(CLI::App& img, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = img.add_subcommand("remove", "remove an image");
  cmd->add_option("name", *name, "image name")->required();
  cmd->callback([&ctx, name] {
    auto r = image::remove(ctx.paths(), *name, manager::image_users(ctx.paths(), *name));
    if (!r) {
      ctx.exit_code = fail("remove", *name, r.error());
      return;
    }
    std::printf("removed image %s\n", name->c_str());
  });
}

void register_image_export(CLI::App& img, Context& ctx) {
  struct Opts {
    std::string name, file;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd =
      img.add_subcommand("export",
                         "write an image's tree to a tar, compressed as FILE's suffix says (.tar, "
                         ".tar.gz, .tar.xz, .tar.zst)");
  cmd->add_option("name", o->name, "image name")->required();
  cmd->add_option("file", o->file, "the archive to write")->required();
  cmd->callback([&ctx, o] {
    ProgressView view;
    stop_on_signals();
    auto r = image::export_tar(ctx.paths(), o->name, o->file, view.callback());
    view.end();
    if (!r) {
      ctx.exit_code = fail("export", o->name, r.error());
      return;
    }
    std::printf("exported image %s to %s (%s)\n", o->name.c_str(), o->file.c_str(),
                mib(*r).c_str());
  });
}

// `image build NAME`: from [images.NAME] of the declarations.
void register_image_build(CLI::App& img, Context& ctx) {
  struct Opts {
    std::string name;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = img.add_subcommand(
      "build",
      "build image NAME from [images.NAME] of the declarations with mmdebstrap, unless it is up "
      "to date (built from the same recipe)");
  cmd->add_option("name", o->name, "image name")->required();
  cmd->add_flag("--force", o->force,
                "build even when up to date, or replace an imported image of that name");
  cmd->callback([&ctx, o] {
    auto d = load_or_report(ctx);
    if (!d) {
      ctx.exit_code = 1;
      return;
    }
    auto it = d->images.find(o->name);
    if (it == d->images.end()) {
      ctx.exit_code =
          fail("build", o->name, make_error("no [images.{}] in the declarations", o->name));
      return;
    }
    image::BuildOptions bo;
    bo.force = o->force;
    bo.log = [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    };
    stop_on_signals();
    auto r = image::build(ctx.paths(), it->second, bo);
    if (!r) {
      ctx.exit_code = fail("build", o->name, r.error());
      return;
    }
    if (!r->built)
      std::printf("image %s is up to date (recipe sha256 %s)\n", o->name.c_str(),
                  r->meta.sha256.c_str());
    else
      std::printf("%s image %s in %.0f s: %llu entries, %s of files, recipe sha256 %s\n",
                  r->replaced ? "rebuilt" : "built", o->name.c_str(), r->seconds,
                  static_cast<unsigned long long>(r->meta.entries), mib(r->meta.tree_bytes).c_str(),
                  r->meta.sha256.c_str());
  });
}

}  // namespace

void register_image(CLI::App& app, Context& ctx) {
  auto* img = app.add_subcommand("image", "the image store: import, build, list, remove, export");
  img->require_subcommand(1);
  register_import(*img, ctx, false);
  register_import(*img, ctx, true);
  register_image_build(*img, ctx);
  register_image_list(*img, ctx);
  register_image_remove(*img, ctx);
  register_image_export(*img, ctx);
}

}  // namespace berth::cli
