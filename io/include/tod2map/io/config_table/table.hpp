#pragma once
// The key table: every config key declared once, with its member, type, default (the struct's
// initialiser), checks and one-line doc. Reading, to_yaml, the structure check, "did you mean",
// the docs/config.md tables and the round-trip test all walk this one table, so a key cannot be
// read but not written, or documented with a stale default.
//
// A table is generic over the struct its values live in (`Root`). Each component declares its
// own section as a Table of its own options struct, with paths relative to the section
// (solvers: Table<SolverConfig> with "tol", "checkpoint.path", ...); the run configuration
// (tod2map/config) mounts the sections under their names into one Table<Config> and adds the
// checks that involve several sections. io knows only this machinery and its own sections.
#include <algorithm>
#include <deque>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tod2map/core/enum_names.hpp"
#include "tod2map/io/config_table/checks.hpp"
#include "tod2map/io/config_table/reader.hpp"
#include "tod2map/io/config_table/text.hpp"
#include "tod2map/io/config_table/writer.hpp"

namespace tod2map::io::config_table {

enum class Kind {
  leaf,      // a value (scalar or list of scalars)
  section,   // a mapping with the keys declared under it
  free_map,  // a mapping with any names (solver.petsc_options)
  item_list  // a list of mappings, each with the keys declared under "<path>[]"
};

/// How to_yaml writes a section: one key per line, or `{a: 1, b: 2}` on one line.
enum class Style { block, flow };

/// One key. `Root` is the struct the key's value lives in: a section's options struct, the
/// whole Config once mounted, or the item of a list of mappings (a simulated detector).
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
  /// Offered as a keyword option by the Python MapMaker, named by the key's last name
  /// (MapMaker(..., nside=512) sets pixelization.nside).
  bool shortcut = false;
  std::function<bool(const Root&, const Root&)> same;
  /// Top-level sections read before the others (simulation: input.files' default needs it).
  bool read_first = false;
};

/// A member reached through nested structs: field(&SolverConfig::checkpoint,
/// &SolverConfig::Checkpoint::path).
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
  /// A name from a fixed set that is not an enumeration (names of registries: backend,
  /// method), stored as spelled in `choices`.
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
  /// A value of the enumeration T, read from its name once: `names` spells each value as the
  /// config, to_yaml and the docs do (read case-insensitively); `what` names the set in
  /// messages ("'x' is not a valid <what> (expected one of: ...)").
  template <std::size_t N>
  Leaf& choices(const EnumName<T> (&names)[N], std::string what) {
    static_assert(std::is_enum_v<T>, "a table of names is for an enumeration");
    std::vector<std::string> spelled;
    std::vector<T> values;
    for (const auto& [value, text] : names) {
      values.push_back(value);
      spelled.push_back(text);
    }
    const auto text_of = [spelled, values](T v) {
      for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] == v) return spelled[i];
      return std::string("?");
    };
    const Root defaults{};
    const T initial = at_(const_cast<Root&>(defaults));
    key_->type = choices_text(spelled);
    key_->default_text = default_text_of(text_of(initial));
    key_->single_value = N == 1;
    key_->read = [at = at_, text_of, spelled, values, what, name = last_of(key_->path)](
                     const Section& s, Root& r) {
      std::string text = text_of(at(r));  // kept when the key is absent
      s.get(name, text);
      check_choice(s, name, text, spelled, what);  // now spelled as in `names`
      for (std::size_t i = 0; i < spelled.size(); ++i)
        if (spelled[i] == text) at(r) = values[i];
    };
    key_->write = [at = at_, text_of, name = last_of(key_->path)](Writer& w, const Root& r) {
      w.put(name, text_of(at(const_cast<Root&>(r))));
    };
    for (const T v : values)
      if (v != initial) {
        example(v);
        break;
      }
    return *this;
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
  /// A key that must be given: "missing (<why>)" when absent, checked before the value is read
  /// (a list item's name).
  Leaf& required(std::string why) {
    key_->default_text = "required";
    key_->read = [get = key_->read, why, name = last_of(key_->path)](const Section& s, Root& r) {
      if (!s.has(name)) s.fail(name, "missing (" + why + ")");
      get(s, r);
    };
    return *this;
  }
  /// A Python MapMaker keyword option (see BasicKey::shortcut).
  Leaf& shortcut() {
    key_->shortcut = true;
    return *this;
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

/// Where a key stands in the document, without its functions: what the structure pass, the
/// overrides and the suggestions need (io/src/config/key_index.cpp).
struct KeyInfo {
  std::string path;
  Kind kind = Kind::leaf;
  int list_rank = 0;
};

class KeyIndex {
 public:
  explicit KeyIndex(std::vector<KeyInfo> keys) : keys_(std::move(keys)) {}
  Kind kind_of(const std::string& path) const;  // leaf for the keys of list items
  bool is_key(const std::string& path) const;
  /// Names of the keys directly under a path ("" = top level), in the order messages list them.
  std::vector<std::string> children_of(const std::string& parent) const;
  /// Every path that is not inside a list item.
  std::vector<std::string> all_paths() const;

 private:
  std::vector<KeyInfo> keys_;
};

/// How Table::item_list reads a list of mappings.
template <class Item>
struct ItemListRules {
  std::string item;  ///< what one item is, in messages and docs ("detector", "split")
  bool at_least_one = false;
  /// The value when the key is absent (empty list when unset).
  std::function<std::vector<Item>()> when_absent;
  /// The item's key `name`, unique within the list (none when unset).
  std::function<const std::string&(const Item&)> name_of;
  /// A check of the whole item, after its keys are read (d names the item in messages).
  std::function<void(const Section& d, const Item&)> check_item;
  /// Sets a valid list other than the default, for the round-trip test.
  std::function<void(std::vector<Item>&)> example;
};

/// The keys of one struct `Root`, in the order they are read and written.
template <class Root>
class Table {
 public:
  using Key = BasicKey<Root>;

  Table() { make_section(self, Style::block); }

  /// A mapping of keys. A doc gives it a docs row of its own.
  Key& section(const std::string& path, Style style = Style::block, const std::string& doc = "") {
    return make_section(add(path, Kind::section, doc), style);
  }

  /// A value read into the member `at` reaches (see field()).
  template <class Acc>
  auto leaf(const std::string& path, Acc at, const std::string& doc) {
    using T = std::remove_reference_t<std::invoke_result_t<Acc, Root&>>;
    return make_leaf<T>(add(path, Kind::leaf, doc), std::function<T&(Root&)>(at));
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

  /// A check run after every key is read: check(section of this table, value).
  void after_reading(std::function<void(const Section&, const Root&)> check) {
    final_checks.push_back(std::move(check));
  }

  /// The keys of another table (a section) under `name`, its values in the member `at`
  /// reaches. The mounted section key is `sub.self`, whose read gets the section's own mapping.
  template <class Sub, class Acc>
  void mount(const std::string& name, Acc at, const Table<Sub>& sub) {
    const std::function<Sub&(Root&)> to(at);
    const auto cto = [to](const Root& r) -> const Sub& { return to(const_cast<Root&>(r)); };
    Key& top = keys.emplace_back(lift(sub.self, to, cto));
    top.path = name;
    if (sub.self.read)
      top.read = [read = sub.self.read, to, name](const Section& parent, Root& r) {
        read(parent.sub(name), to(r));
      };
    for (const auto& k : sub.keys) keys.emplace_back(lift(k, to, cto)).path = name + "." + k.path;
    for (const auto& check : sub.final_checks)
      final_checks.push_back(
          [check, cto, name](const Section& top, const Root& r) { check(top.sub(name), cto(r)); });
  }

  /// A list of mappings (simulation.focal_plane, output.splits), each item read and written
  /// with the keys of `items` (which must outlive the table: a function-local static), and
  /// those keys listed for the lookups, the docs and the round-trip test (add_item_keys).
  template <class Item, class Acc>
  Key& item_list(const std::string& path, Acc at, const Table<Item>& items,
                 ItemListRules<Item> rules, const std::string& default_text,
                 const std::string& doc) {
    using List = std::vector<Item>;
    const std::function<List&(Root&)> to(at);
    const auto cto = [to](const Root& r) -> const List& { return to(const_cast<Root&>(r)); };
    Key& list = custom(path, Kind::item_list, "list of " + rules.item + "s", default_text, doc);
    const std::string name = last_of(path);
    const Table<Item>* table = &items;
    list.read = [table, rules, to, name](const Section& s, Root& r) {
      List& out = to(r);
      if (!s.has(name)) {
        out = rules.when_absent ? rules.when_absent() : List{};
        return;
      }
      const YAML::Node node = s.value(name);  // a list of mappings (the structure pass)
      if (node.size() == 0 && rules.at_least_one)
        s.fail(name, "empty list (expected at least one " + rules.item + ")");
      out.clear();
      std::vector<std::string> names;
      for (std::size_t i = 0; i < node.size(); ++i) {
        const Section d = s.item(name, i);
        Item item;
        for (const auto& k : table->keys) {
          k.read(d, item);
          // Unique names, checked right after the name and before the item's other keys.
          if (rules.name_of && last_of(k.path) == "name") {
            const std::string& n = rules.name_of(item);
            if (std::find(names.begin(), names.end(), n) != names.end())
              d.fail("name", rules.item + " name '" + n + "' is used twice");
            names.push_back(n);
          }
        }
        if (rules.check_item) rules.check_item(d, item);
        out.push_back(std::move(item));
      }
    };
    list.write = [table, cto, name](Writer& w, const Root& r) {
      w.raw() << YAML::Key << name << YAML::Value << YAML::BeginSeq;
      for (const Item& item : cto(r)) {
        w.raw() << YAML::Flow << YAML::BeginMap;
        for (const auto& k : table->keys) k.write(w, item);
        w.end();
      }
      w.raw() << YAML::EndSeq;
    };
    list.same = [table, cto](const Root& a, const Root& b) {
      const List& x = cto(a);
      const List& y = cto(b);
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        for (const auto& k : table->keys)
          if (!k.same(x[i], y[i])) return false;
      return true;
    };
    if (rules.example)
      list.set_example = [example = rules.example, to](Root& r) { example(to(r)); };
    add_item_keys(path, at, items, rules.example);
    return list;
  }

  /// The keys of each item of the list `list` (a custom key of kind item_list that reads and
  /// writes the items with `items` itself), for the lookups, the docs and the round-trip test:
  /// "focal_plane[].sigma". Their example is set in the first item; an empty list is first
  /// filled by `seed` (a valid list: an item may need keys of its own, a name), else with one
  /// default item.
  template <class Item, class Acc>
  void add_item_keys(const std::string& list, Acc at, const Table<Item>& items,
                     std::function<void(std::vector<Item>&)> seed = {}) {
    using List = std::remove_reference_t<std::invoke_result_t<Acc, Root&>>;
    const std::function<List&(Root&)> to(at);
    for (const auto& item : items.keys) {
      Key& k = keys.emplace_back(description_of(item));
      k.path = list + "[]." + item.path;
      k.same = [same = item.same, to](const Root& a, const Root& b) {
        const List& x = to(const_cast<Root&>(a));
        const List& y = to(const_cast<Root&>(b));
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
          if (!same(x[i], y[i])) return false;
        return true;
      };
      if (item.set_example)
        k.set_example = [set = item.set_example, to, seed](Root& r) {
          List& list = to(r);
          if (list.empty() && seed) seed(list);
          if (list.empty()) list.emplace_back();
          set(list.front());
        };
    }
  }

  Key* find(const std::string& path) {
    for (Key& k : keys)
      if (k.path == path) return &k;
    return nullptr;
  }
  const Key* find(const std::string& path) const { return const_cast<Table*>(this)->find(path); }

  KeyIndex index() const {
    std::vector<KeyInfo> info;
    for (const Key& k : keys) info.push_back({k.path, k.kind, k.list_rank});
    return KeyIndex(std::move(info));
  }

  /// Reads every key below `top` (the document's top level) into `root`, checked: the
  /// sections marked read_first, then the others, then the final checks.
  void read(const Section& top, Root& root) const {
    for (const bool first : {true, false})
      for (const Key& k : keys)
        if (parent_of(k.path).empty() && k.read_first == first) read_tree(top, k, root);
    for (const auto& check : final_checks) check(top, root);
  }

  /// Writes every key of `root`, in table order.
  void write(Writer& w, const Root& root) const { write_tree(w, "", root); }

  /// This table's own section, when it is mounted in another (see mount).
  Key self;
  std::deque<Key> keys;  // a deque: builders keep pointers to the keys they declare
  std::vector<std::function<void(const Section&, const Root&)>> final_checks;

 private:
  static Key& make_section(Key& k, Style style) {
    k.kind = Kind::section;
    k.style = style;
    k.type = "mapping";
    k.default_text = "see below";
    return k;
  }

  Key& add(const std::string& path, Kind kind, const std::string& doc) {
    Key& k = keys.emplace_back();
    k.path = path;
    k.kind = kind;
    k.doc = doc;
    return k;
  }

  template <class T>
  static Leaf<Root, T> make_leaf(Key& k, std::function<T&(Root&)> at) {
    const std::string name = last_of(k.path);
    // write and same take a const Root; the accessor only reads through it there.
    const auto cat = [at](const Root& r) -> const T& { return at(const_cast<Root&>(r)); };
    k.same = [cat](const Root& a, const Root& b) { return cat(a) == cat(b); };
    // An enumeration is read, written and documented by its names (Leaf::choices).
    if constexpr (!std::is_enum_v<T>) {
      k.read = [at, name](const Section& s, Root& r) { s.get(name, at(r)); };
      k.write = [cat, name](Writer& w, const Root& r) { w.put(name, cat(r)); };
      const Root defaults{};
      k.type = type_text_of(static_cast<const T*>(nullptr));
      k.default_text = default_text_of(cat(defaults));
    }
    if constexpr (std::is_same_v<T, bool>) k.set_example = [at](Root& r) { at(r) = !at(r); };
    return Leaf<Root, T>(k, std::move(at));
  }

  // What a key of a Table<Sub> says about itself (path, kind, docs, flags), without its
  // functions, which work on a Sub.
  template <class Sub>
  static Key description_of(const BasicKey<Sub>& k) {
    Key out;
    out.path = k.path;
    out.kind = k.kind;
    out.style = k.style;
    out.list_rank = k.list_rank;
    out.type = k.type;
    out.default_text = k.default_text;
    out.doc = k.doc;
    out.single_value = k.single_value;
    out.shortcut = k.shortcut;
    out.read_first = k.read_first;
    return out;
  }

  // A key of a Table<Sub> as a key of this one, its functions applied to the member `to` gives.
  template <class Sub, class To, class CTo>
  static Key lift(const BasicKey<Sub>& k, const To& to, const CTo& cto) {
    Key out = description_of(k);
    if (k.read) out.read = [f = k.read, to](const Section& s, Root& r) { f(s, to(r)); };
    if (k.write) out.write = [f = k.write, cto](Writer& w, const Root& r) { f(w, cto(r)); };
    if (k.enabled) out.enabled = [f = k.enabled, cto](const Root& r) { return f(cto(r)); };
    if (k.set_example) out.set_example = [f = k.set_example, to](Root& r) { f(to(r)); };
    if (k.same)
      out.same = [f = k.same, cto](const Root& a, const Root& b) { return f(cto(a), cto(b)); };
    return out;
  }

  // `section`'s own read (if any) with the mapping that holds it, then its keys.
  void read_tree(const Section& parent, const Key& section, Root& r) const {
    if (section.kind != Kind::section) {
      section.read(parent, r);
      return;
    }
    if (section.read) section.read(parent, r);
    if (section.enabled && !section.enabled(r)) return;
    const Section self = parent.sub(last_of(section.path));
    for (const Key& k : keys)
      if (parent_of(k.path) == section.path) read_tree(self, k, r);
  }

  void write_tree(Writer& w, const std::string& parent, const Root& r) const {
    for (const Key& k : keys) {
      if (parent_of(k.path) != parent) continue;
      if (k.kind != Kind::section) {
        k.write(w, r);
        continue;
      }
      if (k.enabled && !k.enabled(r)) continue;
      const std::string name = last_of(k.path);
      if (k.style == Style::flow)
        w.raw() << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap;
      else
        w.begin(name.c_str());
      write_tree(w, k.path, r);
      w.end();
    }
  }
};

}  // namespace tod2map::io::config_table
