// The message of the ConfigError that a config step raises (a test failure when none is).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map::test {

/// The message of the ConfigError that `f` throws ("" and a test failure if it throws none).
inline std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

/// The same for parsing `yaml` with `overrides`.
inline std::string parse_error(const std::string& yaml,
                               const std::vector<std::string>& overrides = {}) {
  return config_error([&] { tod2map::parse_config(yaml, ".", overrides); });
}

}  // namespace tod2map::test
