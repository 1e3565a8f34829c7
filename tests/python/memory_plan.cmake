# The memory plan: tod2map plan and the run's memory check (test_memory_plan.py).
tod2map_add_pytest(pytest_memory_plan test_memory_plan.py LABELS integration)
