// What the to_spec tests share: one container of a TOML text (no host
// checks), a mount by destination, membership in a list.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "decl/decl.h"
#include "oci/spec.h"

namespace berth::decl::spec_testing {

inline Container parse_one(const std::string& toml) {
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"c.toml", toml}}, o);
  EXPECT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.decls.containers.size(), 1u);
  return r.decls.containers.begin()->second;
}

inline const oci::Mount* find_mount(const oci::Spec& s, const std::string& dest) {
  for (auto& m : s.mounts)
    if (m.destination == dest) return &m;
  return nullptr;
}

inline bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace berth::decl::spec_testing
