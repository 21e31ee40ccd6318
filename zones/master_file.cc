// Lexing of RFC 1035 master files: comments, quotes, escapes, parentheses.
#include "zones/master_file.hh"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

namespace mirrorpool::zones {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

bool is_ordinary(char c) {
  return !is_blank(c) && c != '\n' && c != '\\' && c != '"' && c != ';' && c != '(' && c != ')';
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

std::vector<MasterEntry> split_master_text(std::string_view text, const std::string& file,
                                           Diagnostics& diags) {
  std::vector<MasterEntry> entries;
  MasterEntry current;
  int line = 1;
  int depth = 0;
  int paren_line = 0;
  bool quoted = false;
  // An entry with a lexing error is dropped: its diagnostic is already out,
  // and parsing the remains would only add a second, vaguer one.
  bool broken = false;

  auto finish = [&]() {
    size_t end = current.text.find_last_not_of(' ');
    if (end != std::string::npos && !broken) {
      current.text.resize(end + 1);
      entries.push_back(std::move(current));
    }
    current = MasterEntry{};
    broken = false;
  };

  // Blank space at the start is meaningful (owner omitted); elsewhere one
  // space is as good as many. Parentheses and joined lines count as blank.
  auto add_space = [&]() {
    if (current.text.empty() || current.text.back() != ' ') current.text += ' ';
  };

  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (current.text.empty()) current.line = line;
    if (c == '\n') {
      if (quoted) {
        diags.push_back({{file, line, 0}, "unterminated quoted string"});
        quoted = false;
        broken = true;
      }
      ++line;
      if (depth == 0) {
        finish();
      } else {
        add_space();
      }
      continue;
    }
    if (c == '\\') {
      current.text += c;
      if (i + 1 < text.size() && text[i + 1] != '\n') current.text += text[++i];
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      current.text += c;
      continue;
    }
    if (c == '"') {
      quoted = true;
      current.text += c;
    } else if (c == ';') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '(') {
      if (depth++ == 0) paren_line = line;
      add_space();
    } else if (c == ')') {
      if (depth == 0) {
        diags.push_back({{file, line, 0}, "unbalanced ')'"});
        broken = true;
      } else {
        --depth;
      }
      add_space();
    } else if (is_blank(c)) {
      add_space();
    } else {
      // A run of ordinary characters is copied at once: most of a large zone.
      size_t end = i + 1;
      while (end < text.size() && is_ordinary(text[end])) ++end;
      current.text.append(text.substr(i, end - i));
      i = end - 1;
    }
  }
  if (quoted) {
    diags.push_back({{file, line, 0}, "unterminated quoted string"});
    broken = true;
  }
  if (depth > 0) {
    diags.push_back({{file, paren_line, 0}, "unbalanced '(' (no closing ')')"});
    broken = true;
  }
  finish();
  return entries;
}

std::optional<std::vector<MasterEntry>> read_master_file(const std::string& path,
                                                         std::string& open_error,
                                                         Diagnostics& diags) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    // error_code rather than strerror, which is not thread-safe: a reload may
    // run beside other threads.
    open_error = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, n);
  if (std::ferror(f.get())) {
    open_error = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  return split_master_text(text, path, diags);
}

std::string_view next_master_token(std::string_view text, size_t& pos) {
  while (pos < text.size() && is_blank(text[pos])) ++pos;
  size_t start = pos;
  bool quoted = false;
  while (pos < text.size() && (quoted || !is_blank(text[pos]))) {
    if (text[pos] == '\\' && pos + 1 < text.size()) {
      pos += 2;
      continue;
    }
    if (text[pos] == '"') quoted = !quoted;
    ++pos;
  }
  return text.substr(start, pos - start);
}

}  // namespace mirrorpool::zones
