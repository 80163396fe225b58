from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = '_archive.css.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    pass
    yield 'a { color: #0b5cad; text-decoration: none; }\n.sheet { margin: 0 auto; }\n.report-file { font-weight: bold; overflow-wrap: anywhere; word-break: break-word; }\n.sym, .sym a { overflow-wrap: anywhere; word-break: break-word; }\n.crumbs { padding: 10px 20px 0 20px; font-size: 13px; }\n.crumbs a { margin-right: 14px; white-space: nowrap; display: inline-block; }\n.search { padding: 0 0 10px 0; }\n.search input[type=search] { width: 60%; max-width: 280px; padding: 5px 6px; font-size: 14px; border: 1px solid #afb8c1; border-radius: 4px; }\n.search button { padding: 5px 10px; font-size: 14px; border: 1px solid #0b5cad; background: #0b5cad; color: #ffffff; border-radius: 4px; }\n.price-chart { display: block; max-width: 100%; height: auto; }\n.wrap { overflow-wrap: anywhere; word-break: break-word; }\n.scroll { overflow-x: auto; }\n@media (max-width: 480px) {\n  .crumbs { padding: 10px 12px 0 12px !important; }\n  .hide-narrow { display: none !important; }\n}\n'

blocks = {}
debug_info = ''