#pragma once
// The key table: every config key declared once, with its member, type, default (the struct's
// initialiser), checks and one-line doc. Reading, to_yaml, the structure check, "did you mean",
// the docs/config.md tables and the round-trip test all walk this one table, so a key cannot be
// read but not written, or documented with a stale default.
//
// Each section declares its keys in its own file (input.cpp, pixelization.cpp, ...), in the
// order they are read and written; a later step can move each file to the component that owns
// the section.
#include <deque>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/checks.hpp"
#include "config/reader.hpp"
#include "config/text.hpp"
#include "config/writer.hpp"
#include "tod2map/io/config.hpp"

namespace tod2map::io::config_detail {

enum class Kind {
  leaf,      // a value (scalar or list of scalars)
  section,   // a mapping with the keys declared under it
  free_map,  // a mapping with any names (solver.petsc_options)
  item_list  // a list of mappings, each with the keys declared under "<path>[]"
};

/// How to_yaml writes a section: one key per line, or `{a: 1, b: 2}` on one line.
enum class Style { block, flow };

/// One key. `Root` is the struct the key's value lives in: Config, or SimDetector for the
/// items of simulation.focal_plane.
template <class Root>
struct BasicKey {
  std::string path;  ///< "solver.checkpoint.path"; "[]" stands for the items of a list
  Kind kind = Kind::leaf;
  Style style = Style::block;
  /// Where "expected a mapping of keys (...)" and "expected one of" list this key among its
  /// siblings: after the ones of a lower rank. Only for a key added to a section later than
  /// messages that name the section were written (solver.checkpoint).
  int list_rank = 0;
  /// Columns of docs/config.md; a key with no doc has no row (a section whose keys have rows).
  std::string type, default_text, doc;
  /// Reads the key from its parent mapping and checks it (a section: what it needs before its
  /// keys are read). Checks run right after the value is read, so the first bad key in reading
  /// order is the one reported.
  std::function<void(const Section& parent, Root&)> read;
  std::function<void(Writer&, const Root&)> write;
  /// A section whose keys are read and written only when this holds (simulation: present).
  std::function<bool(const Root&)> enabled;
  /// Sets a valid value different from the default, for the table-driven round-trip test.
  std::function<void(Root&)> set_example;
  /// The key accepts one value only (pixelization.scheme: healpix), so it has no example.
  bool single_value = false;
  std::function<bool(const Root&, const Root&)> same;
  /// Top-level sections read before the others (simulation: input.files' default needs it).
  bool read_first = false;
};
using Key = BasicKey<Config>;
using ItemKey = BasicKey<SimDetector>;

/// A member reached through nested structs: field(&Config::solver, &SolverConfig::tol).
template <class C, class M>
auto field(M C::*member) {
  return [member](auto& root) -> auto& { return root.*member; };
}
template <class C, class M, class... Rest>
auto field(M C::*member, Rest... rest) {
  return [ member, inner = field(rest...) ](auto& root) -> auto& { return inner(root.*member); };
}

std::string default_text_of(const std::string& v);
std::string default_text_of(bool v);
std::string default_text_of(double v);
std::string default_text_of(std::int64_t v);
std::string default_text_of(int v);
std::string default_text_of(std::uint64_t v);
std::string default_text_of(const std::vector<std::string>& v);
std::string type_text_of(const std::string*);
std::string type_text_of(const bool*);
std::string type_text_of(const double*);
std::string type_text_of(const std::int64_t*);
std::string type_text_of(const int*);
std::string type_text_of(const std::uint64_t*);
std::string type_text_of(const std::vector<std::string>*);
/// "`a`, `b` or `c`".
std::string choices_text(const std::vector<std::string>& choices);
/// A number for the docs: "0", "0.5", "1e-08" as %g writes it.
std::string number_text(double v);

/// Declares the checks and docs of one key, whose value has type T; returned by Table::leaf.
template <class Root, class T>
class Leaf {
 public:
  Leaf(BasicKey<Root>& key, std::function<T&(Root&)> at) : key_(&key), at_(std::move(at)) {}

  /// A check of the value just read: f(section, key name, value) fails through the section.
  Leaf& check(std::function<void(const Section&, const std::string&, T&)> f) {
    key_->read = [prev = key_->read, at = at_, f = std::move(f), name = last_of(key_->path)](
                     const Section& s, Root& r) {
      prev(s, r);
      f(s, name, at(r));
    };
    return *this;
  }
  /// A check that needs other keys of the config (read before this one): f(section, key
  /// name, root).
  Leaf& check_config(std::function<void(const Section&, const std::string&, Root&)> f) {
    key_->read = [prev = key_->read, f = std::move(f), name = last_of(key_->path)](const Section& s,
                                                                                   Root& r) {
      prev(s, r);
      f(s, name, r);
    };
    return *this;
  }
  Leaf& choices(std::vector<std::string> choices, std::string what) {
    static_assert(std::is_same_v<T, std::string>, "choices are strings");
    key_->type = choices_text(choices);
    key_->single_value = choices.size() == 1;
    Root defaults{};
    for (const std::string& c : choices)
      if (c != at_(defaults)) {
        example(c);
        break;
      }
    return check([choices, what](const Section& s, const std::string& k, T& v) {
      check_choice(s, k, v, choices, what);
    });
  }
  Leaf& positive(std::string unit = "") {
    key_->type = "number > 0";
    return check([unit](const Section& s, const std::string& k, T& v) {
      check_positive(s, k, v, unit.c_str());
    });
  }
  Leaf& non_negative() {
    key_->type = "number >= 0";
    return check([](const Section& s, const std::string& k, T& v) { check_non_negative(s, k, v); });
  }
  Leaf& at_least(std::int64_t min) {
    key_->type = "integer >= " + std::to_string(min);
    return check(
        [min](const Section& s, const std::string& k, T& v) { check_at_least(s, k, v, min); });
  }
  /// lo <= v <= hi, or lo <= v < hi when `hi_open`.
  Leaf& interval(double lo, double hi, bool hi_open) {
    key_->type = "number in [" + number_text(lo) + ", " + number_text(hi) + (hi_open ? ")" : "]");
    return check([lo, hi, hi_open](const Section& s, const std::string& k, T& v) {
      check_interval(s, k, v, lo, hi, hi_open);
    });
  }
  /// A HEALPix resolution; 0 allowed where it means "the same as another key's".
  Leaf& nside(bool allow_zero) {
    key_->type = allow_zero ? "integer: 0 or a power of two up to 2^29"
                            : "integer: a power of two up to 2^29";
    return check([allow_zero](const Section& s, const std::string& k, T& v) {
      check_nside(s, k, v, allow_zero);
    });
  }
  /// Docs text where the generated one says too little.
  Leaf& type(std::string text) {
    key_->type = std::move(text);
    return *this;
  }
  Leaf& default_text(std::string text) {
    key_->default_text = std::move(text);
    return *this;
  }
  /// A valid value other than the default (booleans and choices have one already).
  Leaf& example(T value) {
    key_->set_example = [at = at_, value](Root& r) { at(r) = value; };
    return *this;
  }

 private:
  // The builder lives only while the key is declared; the functions it composes capture
  // copies of what they need, never the builder.
  BasicKey<Root>* key_;
  std::function<T&(Root&)> at_;
};

/// The whole table: the keys of every section, the keys of the focal-plane items, and the
/// checks that involve keys of several sections.
class Table {
 public:
  /// A mapping of keys. A doc gives it a docs row of its own.
  Key& section(const std::string& path, Style style = Style::block, const std::string& doc = "") {
    Key& k = add(path, Kind::section, doc);
    k.style = style;
    k.type = "mapping";
    k.default_text = "see below";
    return k;
  }

  /// A value read into the member `at` reaches (see field()).
  template <class Acc>
  auto leaf(const std::string& path, Acc at, const std::string& doc) {
    using T = std::remove_reference_t<std::invoke_result_t<Acc, Config&>>;
    return make_leaf<Config, T>(add(path, Kind::leaf, doc), std::function<T&(Config&)>(at));
  }

  /// A key of each item of simulation.focal_plane ("simulation.focal_plane[].sigma").
  template <class Acc>
  auto item(const std::string& path, Acc at, const std::string& doc) {
    using T = std::remove_reference_t<std::invoke_result_t<Acc, SimDetector&>>;
    ItemKey& k = items.emplace_back();
    k.path = path;
    k.doc = doc;
    return make_leaf<SimDetector, T>(k, std::function<T&(SimDetector&)>(at));
  }

  /// A key whose reading and writing are its own (input.files, solver.petsc_options, ...):
  /// the caller sets read, write, same and set_example.
  Key& custom(const std::string& path, Kind kind, const std::string& type,
              const std::string& default_text, const std::string& doc) {
    Key& k = add(path, kind, doc);
    k.type = type;
    k.default_text = default_text;
    return k;
  }

  /// A check run after every key is read: check(top-level section, config).
  void after_reading(std::function<void(const Section&, const Config&)> check) {
    final_checks.push_back(std::move(check));
  }

  std::deque<Key> keys;  // a deque: builders keep pointers to the keys they declare
  std::deque<ItemKey> items;
  std::vector<std::function<void(const Section&, const Config&)>> final_checks;

 private:
  Key& add(const std::string& path, Kind kind, const std::string& doc) {
    Key& k = keys.emplace_back();
    k.path = path;
    k.kind = kind;
    k.doc = doc;
    return k;
  }

  template <class Root, class T>
  static Leaf<Root, T> make_leaf(BasicKey<Root>& k, std::function<T&(Root&)> at) {
    const std::string name = last_of(k.path);
    // write and same take a const Root; the accessor only reads through it there.
    const auto cat = [at](const Root& r) -> const T& { return at(const_cast<Root&>(r)); };
    k.read = [at, name](const Section& s, Root& r) { s.get(name, at(r)); };
    k.write = [cat, name](Writer& w, const Root& r) { w.put(name, cat(r)); };
    k.same = [cat](const Root& a, const Root& b) { return cat(a) == cat(b); };
    const Root defaults{};
    k.type = type_text_of(static_cast<const T*>(nullptr));
    k.default_text = default_text_of(cat(defaults));
    if constexpr (std::is_same_v<T, bool>) k.set_example = [at](Root& r) { at(r) = !at(r); };
    return Leaf<Root, T>(k, std::move(at));
  }
};

// The sections, each declared in its own file.
void declare_input(Table& t);
void declare_pixelization(Table& t);
void declare_mapmaker(Table& t);
void declare_solver(Table& t);
void declare_output(Table& t);
void declare_simulation(Table& t);

/// The table of every key, built once.
const Table& table();

/// Schema lookups for the structure pass and the suggestions.
Kind kind_of(const std::string& path);  // path must be known
bool is_key(const std::string& path);
/// Names of the keys directly under a path ("" = top level), in the order messages list them.
std::vector<std::string> children_of(const std::string& parent);
/// Every path that is not inside a list item.
std::vector<std::string> all_paths();

/// Pass 3: reads every key of the document (`top`) into `config`, checked.
void read_config(const Section& top, Config& config);
/// Writes every key of `config`, in table order.
void write_config(Writer& w, const Config& config);

}  // namespace tod2map::io::config_detail
