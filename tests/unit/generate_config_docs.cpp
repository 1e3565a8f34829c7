// Regenerates the key tables of docs/config.md from the config key table:
//   generate_config_docs docs/config.md           rewrites the file in place
//   generate_config_docs --check docs/config.md   exits 1 (and says how to fix it) when the
//                                                 committed file differs (the ctest test)
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "tod2map/config/config_keys.hpp"

int main(int argc, char** argv) {
  const bool check = argc == 3 && std::string(argv[1]) == "--check";
  if (argc != 2 && !check) {
    std::cerr << "usage: generate_config_docs [--check] docs/config.md\n";
    return 2;
  }
  const std::string path = argv[argc - 1];
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path << ": cannot read\n";
    return 2;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string generated = tod2map::generate_config_docs(text.str());
  if (check) {
    if (generated == text.str()) return 0;
    std::cerr
        << path
        << ": the key tables differ from the config key table (each component's options/); run "
           "build/tests/unit/generate_config_docs docs/config.md and commit the result\n";
    return 1;
  }
  if (generated != text.str()) std::ofstream(path, std::ios::binary) << generated;
  return 0;
}
