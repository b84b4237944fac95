// A tree listed for comparison: one line per path, sorted.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "support/testenv.h"

namespace berth::test {

// What a user would see of each path: type and mode, owner, mtime
// (seconds), the size and SHA-256 of files, link targets, user.* xattrs.
// exact adds what a copy must keep too: link counts, mtimes to the
// nanosecond, device numbers and the xattrs of every namespace.
inline std::string tree_listing(const std::string& dir, bool exact) {
  static const char* script = R"(
import hashlib, os, stat, sys
root, exact = sys.argv[1], sys.argv[2] == '1'
out = []
for d, dirs, files in os.walk(root):
    for n in [''] + dirs + files if d == root else dirs + files:
        p = os.path.join(d, n) if n else d
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        mtime = st.st_mtime_ns if exact else int(st.st_mtime)
        line = '%s %o %d:%d %d' % (rel, st.st_mode, st.st_uid, st.st_gid, mtime)
        if exact:
            line += ' links %d dev %d' % (st.st_nlink, st.st_rdev)
        if stat.S_ISREG(st.st_mode):
            line += ' %d %s' % (st.st_size, hashlib.sha256(open(p, 'rb').read()).hexdigest())
        if stat.S_ISLNK(st.st_mode):
            line += ' -> ' + os.readlink(p)
        if not stat.S_ISLNK(st.st_mode):
            for x in sorted(os.listxattr(p)):
                if exact or x.startswith('user.'):
                    line += ' %s=%r' % (x, os.getxattr(p, x))
        out.append(line)
print('\n'.join(sorted(out)))
)";
  auto r = run({"python3", "-c", script, dir, exact ? "1" : "0"});
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

}  // namespace berth::test
