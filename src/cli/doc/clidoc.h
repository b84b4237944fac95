// Shell completion (bash, zsh) and a man page, generated from a CLI11
// command line definition: what the binary accepts is what they offer.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace berth::clidoc {

struct Program {
  std::string name;     // the binary, e.g. "berth"
  std::string summary;  // one line, for NAME
  // The command that prints one container name per line (completed where an
  // argument is named "name" or "names"); empty for none.
  std::string names_command;
  // Extra roff sections appended to the man page (FILES, EXAMPLES, ...).
  std::string man_extra;
};

std::string bash_completion(const CLI::App& app, const Program& p);
std::string zsh_completion(const CLI::App& app, const Program& p);
// A section 1 man page in roff (man(7) macros).
std::string man_page(const CLI::App& app, const Program& p);

}  // namespace berth::clidoc
