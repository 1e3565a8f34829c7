# The shell blocks of README.md and docs/ run as written (test_docs_commands.py); they use the
# executable and the Python module from this build.
if(TARGET tod2map_python)
  tod2map_add_pytest(pytest_docs_commands test_docs_commands.py LABELS "docs;integration")
endif()
