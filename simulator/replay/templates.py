"""Compiled Jinja templates, cached by their source.

mini-swe-agent builds `Template(source)` at every render (system, task, observation and format-error
messages), so a replay spent most of its time compiling the same few templates again. `compiled`
keeps one compiled template per (source, undefined); `install` points mini-swe-agent's modules at it.
A compiled template renders any variables, so the rendered text is the same byte for byte.
"""

import functools

import jinja2


@functools.lru_cache(maxsize=512)
def compiled(source: str, undefined: type[jinja2.Undefined] = jinja2.Undefined) -> jinja2.Template:
    return jinja2.Template(source, undefined=undefined)


def cached_template(source: str, undefined: type[jinja2.Undefined] = jinja2.Undefined, **options) -> jinja2.Template:
    """`jinja2.Template(source, ...)`, compiled once per source (other options compile as before)."""
    return jinja2.Template(source, undefined=undefined, **options) if options else compiled(source, undefined)


@functools.cache
def install() -> None:
    """Render mini-swe-agent's templates through the cache (its modules import `Template` by name)."""
    from minisweagent.agents import default
    from minisweagent.models.utils import actions_text, actions_toolcall, actions_toolcall_response

    for module in (default, actions_text, actions_toolcall, actions_toolcall_response):
        module.Template = cached_template


@functools.lru_cache(maxsize=64)
def template_variables(*templates: str) -> frozenset[str]:
    """Names the templates read (parsed once per set of templates)."""
    import jinja2.meta

    env = jinja2.Environment()
    return frozenset().union(*(jinja2.meta.find_undeclared_variables(env.parse(t)) for t in templates if t))


def agent_templates(agent) -> list[str]:
    """Every template of an agent config (its agent and model sections)."""
    return [v for section in (agent.agent, agent.model) for k, v in section.items() if k.endswith("_template")]
