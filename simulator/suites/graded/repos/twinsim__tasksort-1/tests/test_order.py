from tasksort.graph import TaskGraph
from tasksort.order import run_order


def test_chain():
    g = TaskGraph()
    g.add("deploy", "test")
    g.add("test", "build")
    assert run_order(g) == ["build", "test", "deploy"]


def test_independent_tasks_alphabetical():
    g = TaskGraph()
    g.add("b")
    g.add("a")
    assert run_order(g) == ["a", "b"]
