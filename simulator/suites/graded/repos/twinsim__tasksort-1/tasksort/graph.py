"""Tasks and the tasks they depend on."""


class TaskGraph:
    def __init__(self):
        self.deps = {}

    def add(self, task, *depends_on):
        self.deps.setdefault(task, set()).update(depends_on)
        for dep in depends_on:
            self.deps.setdefault(dep, set())

    def dependents(self, task):
        return sorted(t for t, deps in self.deps.items() if task in deps)
