"""A run order for a TaskGraph."""


class CycleError(ValueError):
    pass


def run_order(graph):
    """Every task after the tasks it depends on; among tasks ready at the same time, alphabetical.
    Raises CycleError if the dependencies have a cycle."""
    waiting = {task: len(deps) for task, deps in graph.deps.items()}
    ready = sorted(task for task, n in waiting.items() if n == 0)
    order = []
    while ready:
        task = ready.pop(0)
        order.append(task)
        for dependent in graph.dependents(task):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    return order
