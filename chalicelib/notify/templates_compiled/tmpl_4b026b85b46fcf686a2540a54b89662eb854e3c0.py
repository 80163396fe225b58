from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'symbols.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_s = resolve('s')
    try:
        t_1 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_2 = environment.filters['urlencode']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'urlencode' found.")
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>Symbols · Stock Insights report archive</title>\n<style>\n'
    template = environment.get_template('_style.css.j2', 'symbols.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    template = environment.get_template('_archive.css.j2', 'symbols.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</style>\n</head>\n<body>\n<table role="presentation" class="page" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="frame" align="center">\n<table role="presentation" class="sheet" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="crumbs"><a href="./">&larr; Archive</a></td></tr>\n<tr><td class="masthead">\n  <div class="brand">Stock Insights &middot; report archive</div>\n  <div class="run">'
    if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'q'):
        pass
        yield 'Symbols beginning &ldquo;'
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'q'))
        yield '&rdquo;'
    else:
        pass
        yield 'All symbols'
    yield '</div>\n  <div class="meta">'
    yield escape(t_1(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'rows')))
    yield ' shown'
    if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'next'):
        pass
        yield ', more on the next page'
    yield ' &middot; by name, any case</div>\n</td></tr>\n<tr><td class="section">\n  <form class="search" action="symbols" method="get" role="search">\n    <input type="search" name="q" value="'
    yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'q'))
    yield '" placeholder="Find a symbol, e.g. AAPL" aria-label="Symbol">\n    <button type="submit">Find</button>\n  </form>\n'
    if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'rows'):
        pass
        yield '  <table role="presentation" class="grid" width="100%" cellpadding="0" cellspacing="0">\n    <tr><th>Symbol</th><th class="num">Close</th><th class="num">Bar</th><th class="hide-narrow">Trend</th></tr>\n'
        for l_1_r in environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'rows'):
            _loop_vars = {}
            pass
            yield '    <tr>\n      <td><a class="sym" href="'
            yield escape(environment.getattr(l_1_r, 'href'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'label'))
            yield '</a><div class="small">'
            yield escape(environment.getattr(l_1_r, 'interval_text'))
            yield ' &middot; <span class="nowrap">'
            yield escape(environment.getattr(l_1_r, 'time'))
            yield '</span></div></td>\n      <td class="num">'
            yield escape(environment.getattr(l_1_r, 'price'))
            yield '</td>\n      <td class="num '
            yield escape(environment.getattr(l_1_r, 'tone'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'change'))
            yield '</td>\n      <td class="hide-narrow '
            yield escape(environment.getattr(l_1_r, 'trend_tone'))
            yield ' nowrap">'
            yield escape(environment.getattr(l_1_r, 'trend_arrow'))
            yield ' '
            yield escape(environment.getattr(l_1_r, 'trend'))
            yield '</td>\n    </tr>\n'
        l_1_r = missing
        yield '  </table>\n'
        if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'next'):
            pass
            yield '<p class="small"><a href="symbols?q='
            yield escape(t_2(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'q')))
            yield '&amp;next='
            yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'next'))
            yield '">Next page &rarr;</a></p>'
    else:
        pass
        yield '  <p class="small">No symbol '
        if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'q'):
            pass
            yield 'begins &ldquo;'
            yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'q'))
            yield '&rdquo;'
        else:
            pass
            yield 'yet'
        yield '.</p>\n'
    yield '</td></tr>\n<tr><td class="footer">JSON: this page with <code class="nowrap">Accept: application/json</code>. Figures are computed from the input files; not investment advice.</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n'

blocks = {}
debug_info = '8=25&9=31&19=38&20=47&24=53&27=55&30=58&32=62&33=70&34=72&35=76&39=84&41=94'