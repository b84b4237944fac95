// berth snapshot, snapshots, restore, snapshot-remove, clone, export and
// import: copies of a stopped container's own files, and the container moved
// between berth roots (manager/snapshot.h, move.h).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/move.h"
#include "manager/snapshot.h"

namespace berth::cli {

namespace {

int fail(const char* verb, const std::string& name, const Error& e) {
  std::fprintf(stderr, "berth: %s %s: %s\n", verb, name.c_str(), one_line(e.message).c_str());
  return 1;
}

// NAME's declaration (host checks off: a missing image or path is the
// verb's to report), or a failure printed.
const decl::Container* declared(Context& ctx, decl::LoadResult& loaded, const char* verb,
                                const std::string& name) {
  loaded = ctx.load({}, false);
  if (!loaded.ok()) {
    ctx.exit_code = fail(verb, name, make_error("{}", loaded.errors.front().str()));
    return nullptr;
  }
  auto it = loaded.decls.containers.find(name);
  if (it == loaded.decls.containers.end()) {
    ctx.exit_code = fail(verb, name, make_error("no container \"{}\" is declared", name));
    return nullptr;
  }
  return &it->second;
}

std::string size_text(uint64_t bytes) {
  if (bytes >= (1ULL << 30)) return fmt::format("{:.1f} GiB", bytes / double(1ULL << 30));
  if (bytes >= (1ULL << 20)) return fmt::format("{:.1f} MiB", bytes / double(1ULL << 20));
  if (bytes >= 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{} B", bytes);
}

void register_take(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand(
      "snapshot",
      "snapshot a stopped container's own files (its layer over an image, or its tree)");
  cmd->add_option("name", a->first, "container name")->required();
  cmd->add_option("snapshot", a->second, "snapshot name (default: the UTC time, YYYYMMDD-HHMMSS)");
  cmd->callback([&ctx, a] {
    decl::LoadResult loaded;
    auto* c = declared(ctx, loaded, "snapshot", a->first);
    if (!c) return;
    auto r = manager::snapshot(ctx.paths(), *c, a->second);
    if (!r) {
      ctx.exit_code = fail("snapshot", a->first, r.error());
      return;
    }
    std::printf("snapshot %s of %s: %llu files, %s\n", r->name.c_str(), a->first.c_str(),
                static_cast<unsigned long long>(r->files), size_text(r->bytes).c_str());
  });
}

void register_listing(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("snapshots", "list a container's snapshots, oldest first");
  cmd->add_option("name", *name, "container name")->required();
  cmd->add_flag("--json", *json, "as a JSON array");
  cmd->callback([&ctx, name, json] {
    auto r = manager::snapshots(ctx.paths(), *name);
    if (!r) {
      ctx.exit_code = fail("snapshots", *name, r.error());
      return;
    }
    nlohmann::json all = nlohmann::json::array();
    for (auto& s : *r) {
      if (!*json) {
        std::printf("%-24s %-22s %10s%s%s\n", s.name.c_str(), s.created.c_str(),
                    size_text(s.bytes).c_str(), s.image.empty() ? "" : "  over ", s.image.c_str());
        continue;
      }
      nlohmann::json j = {
          {"name", s.name}, {"created", s.created}, {"files", s.files}, {"bytes", s.bytes}};
      if (!s.image.empty()) j["image"] = s.image;
      all.push_back(j);
    }
    if (*json) std::printf("%s\n", all.dump(2).c_str());
  });
}

void register_restore(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("restore",
                                 "put a stopped container's own files back as a snapshot has them");
  cmd->add_option("name", a->first, "container name")->required();
  cmd->add_option("snapshot", a->second, "snapshot name")->required();
  cmd->callback([&ctx, a] {
    decl::LoadResult loaded;
    auto* c = declared(ctx, loaded, "restore", a->first);
    if (!c) return;
    if (auto r = manager::restore(ctx.paths(), *c, a->second); !r) {
      ctx.exit_code = fail("restore", a->first, r.error());
      return;
    }
    std::printf("restored %s from snapshot %s\n", a->first.c_str(), a->second.c_str());
  });
}

void register_remove(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("snapshot-remove", "remove a container's snapshot");
  cmd->add_option("name", a->first, "container name")->required();
  cmd->add_option("snapshot", a->second, "snapshot name")->required();
  cmd->callback([&ctx, a] {
    if (auto r = manager::remove_snapshot(ctx.paths(), a->first, a->second); !r)
      ctx.exit_code = fail("snapshot-remove", a->first, r.error());
  });
}

void register_clone(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand(
      "clone",
      "declare a new container (containers.d/DST.toml) as a copy of a stopped one: its settings "
      "and its own files, with a new machine-id and new allocated addresses");
  cmd->add_option("source", a->first, "the container copied")->required();
  cmd->add_option("name", a->second, "the new container's name")->required();
  cmd->callback([&ctx, a] {
    auto r = manager::clone(ctx.paths(), a->first, a->second);
    if (!r) {
      ctx.exit_code = fail("clone", a->first, r.error());
      return;
    }
    for (auto& n : r->notes)
      std::fprintf(stderr, "berth: clone %s: %s\n", a->first.c_str(), n.c_str());
    const decl::Container& c = r->created.declared;
    if (c.host_address && c.local_address)
      std::fprintf(stderr, "host IP is %s, container IP is %s\n", c.host_address->address.c_str(),
                   c.local_address->address.c_str());
    std::printf("%s\n", r->created.name.c_str());
  });
}

void register_export(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand(
      "export",
      "write a stopped container (its declaration, its image or tree, its own files) to one tar");
  cmd->add_option("name", a->first, "container name")->required();
  cmd->add_option("file", a->second,
                  "FILE.tar, .tar.gz, .tar.xz or .tar.zst, or - (a plain tar on stdout)")
      ->required();
  cmd->callback([&ctx, a] {
    auto r = manager::export_container(ctx.paths(), a->first, a->second);
    if (!r) {
      ctx.exit_code = fail("export", a->first, r.error());
      return;
    }
    if (a->second != "-")
      std::printf("exported %s to %s (%s)\n", a->first.c_str(), a->second.c_str(),
                  size_text(*r).c_str());
  });
}

void register_import(CLI::App& app, Context& ctx) {
  auto req = std::make_shared<manager::ImportRequest>();
  auto* cmd = app.add_subcommand(
      "import", "declare a container from `berth export`'s archive, its files in place");
  cmd->add_option("file", req->file, "the archive, or - (stdin)")->required();
  cmd->add_option("name", req->name, "its name here (default: the exported one)");
  cmd->add_flag("--keep-setid", req->keep_setid,
                "keep set-uid/set-gid bits and file capabilities (dropped by default, as by "
                "`image import`)");
  cmd->callback([&ctx, req] {
    auto r = manager::import_container(ctx.paths(), *req);
    if (!r) {
      ctx.exit_code = fail("import", req->file, r.error());
      return;
    }
    for (auto& n : r->notes)
      std::fprintf(stderr, "berth: import %s: %s\n", req->file.c_str(), n.c_str());
    if (r->image_added) std::fprintf(stderr, "added image %s\n", r->image.c_str());
    std::printf("%s\n", r->name.c_str());
  });
}

}  // namespace

void register_snapshots(CLI::App& app, Context& ctx) {
  register_take(app, ctx);
  register_listing(app, ctx);
  register_restore(app, ctx);
  register_remove(app, ctx);
  register_clone(app, ctx);
  register_export(app, ctx);
  register_import(app, ctx);
}

}  // namespace berth::cli
