#include "cli/doc/clidoc.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace berth::clidoc {
namespace {

// What an argument completes to.
enum class Kind { Name, File, Command, Word };

struct Arg {
  std::string name;
  std::string description;
  Kind kind = Kind::Word;
  std::vector<std::string> choices;  // a CLI::IsMember set: offered as they are
  bool repeats = false;
  bool required = false;
};

struct Flag {
  std::vector<std::string> names;  // "-j", "--jobs"
  std::string description;
  std::string value;  // the value's name; empty for a flag that takes none
};

struct Verb {
  std::string name;
  std::string description;
  std::vector<Flag> flags;
  std::vector<Arg> args;
  std::vector<Verb> verbs;  // nested subcommands
};

Kind kind_of(const std::string& name) {
  if (name == "name" || name == "names" || name == "id" || name == "container") return Kind::Name;
  if (name == "command" || name == "argv" || name == "cmd") return Kind::Command;
  if (name.find("path") != std::string::npos || name.find("file") != std::string::npos ||
      name.find("dir") != std::string::npos || name == "bundle")
    return Kind::File;
  return Kind::Word;
}

std::vector<const CLI::App*> visible(const CLI::App& app) {
  // CLI11 hides a subcommand by putting it in the empty group.
  return app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
}

std::vector<Flag> flags_of(const CLI::App& app) {
  std::vector<Flag> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional() || o->get_group().empty()) continue;
    Flag f;
    for (auto& s : o->get_snames()) f.names.push_back("-" + s);
    for (auto& l : o->get_lnames()) f.names.push_back("--" + l);
    if (f.names.empty()) continue;
    f.description = o->get_description();
    if (o->get_expected_max() > 0) {
      f.value = o->get_type_name();
      if (f.value.empty() || f.value == "TEXT") f.value = "VALUE";
    }
    out.push_back(std::move(f));
  }
  return out;
}

// The members of a CLI::IsMember check, from the type name CLI11 composes
// ("TEXT:{bash,zsh}").
std::vector<std::string> choices_of(const CLI::Option& o) {
  std::string t = o.get_type_name();
  auto b = t.find(":{");
  auto e = t.find('}', b == std::string::npos ? 0 : b);
  std::vector<std::string> out;
  if (b == std::string::npos || e == std::string::npos) return out;
  std::string set = t.substr(b + 2, e - b - 2);
  for (size_t p = 0; p <= set.size();) {
    size_t c = set.find(',', p);
    if (c == std::string::npos) c = set.size();
    if (c > p) out.push_back(set.substr(p, c - p));
    p = c + 1;
  }
  return out;
}

Verb verb_of(const CLI::App& app) {
  Verb v;
  v.name = app.get_name();
  v.description = app.get_description();
  v.flags = flags_of(app);
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_positional()) continue;
    Arg a;
    a.name = o->get_name();
    a.description = o->get_description();
    a.kind = kind_of(a.name);
    a.choices = choices_of(*o);
    a.repeats = o->get_items_expected_max() > 1;
    a.required = o->get_required();
    v.args.push_back(std::move(a));
  }
  for (const CLI::App* s : visible(app)) v.verbs.push_back(verb_of(*s));
  return v;
}

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  return fmt::format("{}", fmt::join(v, sep));
}

std::string kind_word(Kind k) {
  switch (k) {
    case Kind::Name:
      return "name";
    case Kind::File:
      return "file";
    case Kind::Command:
      return "command";
    case Kind::Word:
      break;
  }
  return "word";
}

// The completion kinds of a verb's positional arguments, in order ("name
// file file"); a "+" marks an argument that takes several (the last).
std::string kinds(const Verb& v) {
  std::vector<std::string> k;
  if (!v.verbs.empty()) k.push_back("verb");
  for (auto& a : v.args)
    k.push_back((a.choices.empty() ? kind_word(a.kind) : "one-of:" + join(a.choices, ",")) +
                (a.repeats ? "+" : ""));
  return join(k, " ");
}

std::vector<std::string> all_flag_names(const std::vector<Flag>& flags, bool with_value) {
  std::vector<std::string> out;
  for (auto& f : flags)
    if (!with_value || !f.value.empty())
      for (auto& n : f.names) out.push_back(n);
  return out;
}

std::vector<std::string> verb_names(const std::vector<Verb>& verbs) {
  std::vector<std::string> out;
  for (auto& v : verbs) out.push_back(v.name);
  return out;
}

// Single-quoted for the shells.
std::string sq(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string fn_name(const std::string& prog) {
  std::string out = "_";
  for (char c : prog) out += (c == '-' ? '_' : c);
  return out;
}

}  // namespace

std::string bash_completion(const CLI::App& app, const Program& p) {
  Verb top = verb_of(app);
  std::string fn = fn_name(p.name);
  std::string out = fmt::format(
      "# bash completion for {0}, generated by `{0} completion bash` from its command line.\n"
      "# Install as /usr/share/bash-completion/completions/{0}, or source it.\n",
      p.name);
  out += fmt::format("{}() {{\n", fn);
  out += "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n";
  out += "  local i w verb= skip= pos=0 dashdash=\n  local -a globals=()\n";
  out += "  for ((i = 1; i < COMP_CWORD; i++)); do\n    w=${COMP_WORDS[i]}\n";
  out += "    if [[ -n $skip ]]; then skip=; [[ -z $verb ]] && globals+=(\"$w\"); continue; fi\n";
  out += "    if [[ -n $dashdash ]]; then ((pos++)); continue; fi\n";
  out += "    case $w in\n";
  auto gvals = all_flag_names(top.flags, true);
  if (!gvals.empty())
    out += fmt::format(
        "      {}) if [[ -z $verb ]]; then globals+=(\"$w\"); skip=1; else skip=1; fi ;;\n",
        join(gvals, "|"));
  out += "      --) dashdash=1 ;;\n      -*) ;;\n";
  out += "      *) if [[ -z $verb ]]; then verb=$w; else ((pos++)); fi ;;\n    esac\n  done\n";
  // Options that take a value, of any verb: their value is a file or a word.
  out += "  local vals opts kinds words=\n  if [[ -z $verb ]]; then\n";
  out += fmt::format("    vals=\" {} \"\n", join(gvals, " "));
  out += fmt::format("    opts=\"{}\"\n", join(all_flag_names(top.flags, false), " "));
  out += fmt::format("    kinds=\"verb\"; words=\"{}\"\n", join(verb_names(top.verbs), " "));
  out += "  else\n    case $verb in\n";
  for (auto& v : top.verbs) {
    out += fmt::format("      {})\n", v.name);
    out += fmt::format("        vals=\" {} \"\n", join(all_flag_names(v.flags, true), " "));
    out += fmt::format("        opts=\"{}\"\n", join(all_flag_names(v.flags, false), " "));
    out += fmt::format("        kinds=\"{}\"; words=\"{}\" ;;\n", kinds(v),
                       join(verb_names(v.verbs), " "));
  }
  out += "      *) return ;;\n    esac\n  fi\n";
  out +=
      "  if [[ $vals == *\" $prev \"* ]]; then COMPREPLY=($(compgen -f -- \"$cur\")); return; "
      "fi\n";
  out +=
      "  if [[ -z $dashdash && $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- "
      "\"$cur\")); return; fi\n";
  out += "  local -a k=($kinds)\n  [[ ${#k[@]} -eq 0 ]] && return\n";
  out +=
      "  local kind=${k[pos]}\n  if [[ -z $kind ]]; then [[ ${k[-1]} == *+ ]] || return; "
      "kind=${k[-1]}; fi\n";
  out += "  kind=${kind%+}\n  case $kind in\n";
  out += "    verb) COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")) ;;\n";
  out +=
      "    one-of:*) w=${kind#one-of:}; COMPREPLY=($(compgen -W \"${w//,/ }\" -- \"$cur\")) ;;\n";
  if (!p.names_command.empty())
    out += fmt::format(
        "    name) COMPREPLY=($(compgen -W \"$(\"${{COMP_WORDS[0]}}\" \"${{globals[@]}}\" {} "
        "2>/dev/null)\" -- \"$cur\")) ;;\n",
        p.names_command);
  out += "    file) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n";
  out += "    command) COMPREPLY=($(compgen -c -- \"$cur\")) ;;\n  esac\n}\n";
  out += fmt::format("complete -F {} {}\n", fn, p.name);
  return out;
}

std::string zsh_completion(const CLI::App& app, const Program& p) {
  Verb top = verb_of(app);
  std::string fn = fn_name(p.name);
  auto described = [](const std::vector<Flag>& flags) {
    std::vector<std::string> out;
    for (auto& f : flags) {
      std::string d = f.description;
      std::replace(d.begin(), d.end(), '\n', ' ');
      std::string esc;
      for (char c : d) esc += c == ':' ? std::string("\\:") : std::string(1, c);
      for (auto& n : f.names) out.push_back(sq(n + ":" + esc));
    }
    return join(out, " ");
  };
  auto verbs_described = [](const std::vector<Verb>& vs) {
    std::vector<std::string> out;
    for (auto& v : vs) {
      std::string esc;
      for (char c : v.description) esc += c == ':' ? std::string("\\:") : std::string(1, c);
      out.push_back(sq(v.name + ":" + esc));
    }
    return join(out, " ");
  };
  std::string out = fmt::format(
      "#compdef {0}\n# zsh completion for {0}, generated by `{0} completion zsh` from its command "
      "line.\n# Install as _{0} in a directory of $fpath (e.g. "
      "/usr/share/zsh/vendor-completions).\n",
      p.name);
  out += fmt::format("{}() {{\n", fn);
  out += "  local i w verb= skip= pos=0 dashdash= kinds= vals=\n  local -a globals opts\n";
  out += "  for ((i = 2; i < CURRENT; i++)); do\n    w=${words[i]}\n";
  out += "    if [[ -n $skip ]]; then skip=; [[ -z $verb ]] && globals+=($w); continue; fi\n";
  out += "    if [[ -n $dashdash ]]; then ((pos++)); continue; fi\n    case $w in\n";
  auto gvals = all_flag_names(top.flags, true);
  if (!gvals.empty())
    out += fmt::format("      {}) [[ -z $verb ]] && globals+=($w); skip=1 ;;\n", join(gvals, "|"));
  out += "      --) dashdash=1 ;;\n      -*) ;;\n";
  out += "      *) if [[ -z $verb ]]; then verb=$w; else ((pos++)); fi ;;\n    esac\n  done\n";
  out += "  local -a subs\n  if [[ -z $verb ]]; then\n";
  out += fmt::format("    vals=\" {} \"; opts=({}); kinds=verb; subs=({})\n", join(gvals, " "),
                     described(top.flags), verbs_described(top.verbs));
  out += "  else\n    case $verb in\n";
  for (auto& v : top.verbs)
    out += fmt::format("      {}) vals=\" {} \"; opts=({}); kinds=\"{}\"; subs=({}) ;;\n", v.name,
                       join(all_flag_names(v.flags, true), " "), described(v.flags), kinds(v),
                       verbs_described(v.verbs));
  out += "      *) return 1 ;;\n    esac\n  fi\n";
  out += "  if [[ $vals == *\" ${words[CURRENT-1]} \"* ]]; then _files; return; fi\n";
  out +=
      "  if [[ -z $dashdash && $PREFIX == -* ]]; then _describe -t options option opts; "
      "return; fi\n";
  out += "  local -a k=(${=kinds})\n  (( ${#k} )) || return 1\n";
  out +=
      "  local kind=${k[pos+1]}\n  if [[ -z $kind ]]; then [[ ${k[-1]} == *+ ]] || return 1; "
      "kind=${k[-1]}; fi\n";
  out += "  kind=${kind%+}\n  case $kind in\n";
  out += "    verb) _describe -t commands command subs ;;\n";
  out += "    one-of:*) local -a c; c=(${(s:,:)${kind#one-of:}}); compadd -a c ;;\n";
  if (!p.names_command.empty())
    out += fmt::format(
        "    name) local -a n; n=(${{(f)\"$(${{words[1]}} $globals {} 2>/dev/null)\"}}); "
        "compadd -a n ;;\n",
        p.names_command);
  out += "    file) _files ;;\n    command) _command_names ;;\n  esac\n}\n";
  out += fmt::format(
      "if [[ ${{zsh_eval_context[-1]}} == loadautofunc ]]; then\n  {0} \"$@\"\nelse\n  compdef {0} "
      "{1}\nfi\n",
      fn, p.name);
  return out;
}

namespace {

// Text for roff: no line may start with a control character, and a
// backslash is an escape.
std::string roff(std::string_view s) {
  std::string out;
  bool bol = true;
  for (char c : s) {
    if (bol && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    bol = c == '\n';
  }
  return out;
}

std::string synopsis_args(const Verb& v) {
  std::string out;
  if (!v.flags.empty()) out += " [\\fIOPTIONS\\fR]";
  if (!v.verbs.empty()) out += " \\fICOMMAND\\fR";
  for (auto& a : v.args) {
    std::string n = "\\fI" + roff(upper(a.name)) + "\\fR" + (a.repeats ? "..." : "");
    out += a.required ? " " + n : " [" + n + "]";
  }
  return out;
}

void flags_roff(std::string& out, const std::vector<Flag>& flags) {
  for (auto& f : flags) {
    std::vector<std::string> names;
    for (auto& n : f.names) names.push_back("\\fB" + roff(n) + "\\fR");
    out += ".TP\n" + join(names, ", ");
    if (!f.value.empty()) out += " \\fI" + roff(f.value) + "\\fR";
    out += "\n" + roff(f.description) + "\n";
  }
}

void verb_roff(std::string& out, const std::string& prefix, const Verb& v) {
  out += ".SS \"" + roff(prefix + v.name) + "\"\n";
  out += ".B " + roff(prefix + v.name) + "\n" + synopsis_args(v) + "\n.PP\n";
  out += roff(v.description) + "\n";
  if (!v.args.empty() || !v.flags.empty()) out += ".RS\n";
  for (auto& a : v.args)
    out += ".TP\n\\fI" + roff(upper(a.name)) + "\\fR\n" + roff(a.description) + "\n";
  flags_roff(out, v.flags);
  if (!v.args.empty() || !v.flags.empty()) out += ".RE\n";
  for (auto& s : v.verbs) verb_roff(out, prefix + v.name + " ", s);
}

}  // namespace

std::string man_page(const CLI::App& app, const Program& p) {
  Verb top = verb_of(app);
  std::string out = fmt::format(".\\\" Generated by `{} man` from its command line.\n", p.name);
  out += fmt::format(".TH {} 1 \"\" \"{}\" \"User Commands\"\n", upper(p.name), p.name);
  out += ".SH NAME\n" + roff(p.name) + " \\- " + roff(p.summary) + "\n";
  out += ".SH SYNOPSIS\n.B " + roff(p.name) + "\n" + synopsis_args(top) + "\n";
  out += ".SH DESCRIPTION\n" + roff(top.description) + "\n";
  if (!top.flags.empty()) {
    out += ".SH OPTIONS\n";
    flags_roff(out, top.flags);
  }
  out += ".SH COMMANDS\n";
  for (auto& v : top.verbs) verb_roff(out, "", v);
  std::vector<std::string> env;
  for (const CLI::Option* o : app.get_options())
    if (!o->get_envname().empty())
      env.push_back(".TP\n\\fB" + roff(o->get_envname()) + "\\fR\nthe default of \\fB" +
                    roff(o->get_name()) + "\\fR\n");
  if (!env.empty()) out += ".SH ENVIRONMENT\n" + join(env, "");
  out += p.man_extra;
  return out;
}

}  // namespace berth::clidoc
