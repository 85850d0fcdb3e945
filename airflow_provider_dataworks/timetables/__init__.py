"""Reading a DAG's timetable: the TriggerTimes its scheduled runs send."""
