#pragma once
// Subcommands of the tod2map executable; each returns the process exit code.
namespace tod2map::apps {
int command_run(int argc, char** argv);
int command_sim(int argc, char** argv);
int command_info(int argc, char** argv);
int command_plan(int argc, char** argv);
}  // namespace tod2map::apps
