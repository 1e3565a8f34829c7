#pragma once
// A base for classes that own a resource released in their destructor (a signal disposition,
// an error handler, MPI types): copying one would release it twice.

namespace tod2map {

class NonCopyable {
 public:
  NonCopyable(const NonCopyable&) = delete;
  NonCopyable& operator=(const NonCopyable&) = delete;

 protected:
  NonCopyable() = default;
  ~NonCopyable() = default;
};

}  // namespace tod2map
