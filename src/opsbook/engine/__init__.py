"""The engine: schedules checks, records results, evaluates rules, drives alerts and
plans notifications; the only part of opsbook that runs forever (`opsbook serve`)."""
