from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'archive.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_a = resolve('a')
    try:
        t_1 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>Stock Insights report archive</title>\n<style>\n'
    template = environment.get_template('_style.css.j2', 'archive.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    template = environment.get_template('_archive.css.j2', 'archive.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</style>\n</head>\n<body>\n<table role="presentation" class="page" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="frame" align="center">\n<table role="presentation" class="sheet" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="masthead">\n  <div class="brand">Stock Insights</div>\n  <div class="run">Report archive</div>\n  <div class="meta">'
    yield escape(t_1(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'reports')))
    yield ' latest report'
    yield escape(('' if (t_1(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'reports')) == 1) else 's'))
    yield ' &middot; '
    yield escape(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols_total_text'))
    yield ' symbol'
    yield escape(('' if (environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols_total') == 1) else 's'))
    yield ' in the archive</div>\n</td></tr>\n\n<tr><td class="section">\n  <h2>Latest reports</h2>\n'
    if environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'reports'):
        pass
        yield '  <table role="presentation" class="grid" width="100%" cellpadding="0" cellspacing="0">\n    <tr><th>Report</th><th class="num">Market</th></tr>\n'
        for l_1_r in environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'reports'):
            _loop_vars = {}
            pass
            yield '    <tr>\n      <td>\n        <a class="report-file" href="'
            yield escape(environment.getattr(l_1_r, 'href'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'file'))
            yield '</a>\n        <div class="small"><span class="nowrap">'
            yield escape(environment.getattr(l_1_r, 'time'))
            yield '</span> &middot; <span class="wrap">'
            yield escape(environment.getattr(l_1_r, 'symbols_text'))
            yield '</span> &middot; insights '
            yield escape((environment.getattr(l_1_r, 'insight_source') or 'unknown'))
            yield ' &middot; <a href="'
            yield escape(environment.getattr(l_1_r, 'json_href'))
            yield '">JSON</a></div>\n      </td>\n      <td class="num"><span class="badge badge-'
            yield escape(environment.getattr(l_1_r, 'sentiment_tone'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'sentiment_label'))
            yield '</span></td>\n    </tr>\n'
        l_1_r = missing
        yield '  </table>\n'
        if environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'next'):
            pass
            yield '<p class="small">Older reports: <a href="reports?next='
            yield escape(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'next'))
            yield '">GET /reports?next=&hellip;</a></p>'
    else:
        pass
        yield '  <p class="small">No reports yet: upload a Twelve Data file to <code>inputs/</code> and its report appears here.</p>\n'
    yield '</td></tr>\n\n<tr><td class="section">\n  <h2>Symbols</h2>\n  <form class="search" action="symbols" method="get" role="search">\n    <input type="search" name="q" placeholder="Find a symbol, e.g. AAPL" aria-label="Symbol">\n    <button type="submit">Find</button> <a class="small nowrap" href="symbols">all '
    yield escape(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols_total_text'))
    yield '</a>\n  </form>\n'
    if environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols'):
        pass
        yield '  <p class="small">'
        yield escape(t_1(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols')))
        yield ' of '
        yield escape(environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols_total_text'))
        yield ' symbol'
        yield escape(('' if (environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols_total') == 1) else 's'))
        yield ': those of the latest reports, newest report first, biggest moves first within each.</p>\n'
    else:
        pass
        yield '  <p class="small">No symbol in the latest reports.</p>\n'
    yield '  <table role="presentation" width="100%" cellpadding="0" cellspacing="0">\n'
    for l_1_s in environment.getattr((undefined(name='a') if l_0_a is missing else l_0_a), 'symbols'):
        _loop_vars = {}
        pass
        yield '    <tr class="sym-head">\n      <td>\n        <div class="sym"><a href="'
        yield escape(environment.getattr(l_1_s, 'href'))
        yield '">'
        yield escape(environment.getattr(l_1_s, 'label'))
        yield '</a></div>\n        <div class="small"><span class="nowrap">'
        yield escape(environment.getattr(l_1_s, 'interval'))
        yield '</span> &middot; <span class="'
        yield escape(environment.getattr(l_1_s, 'trend_tone'))
        yield ' nowrap">'
        yield escape(environment.getattr(l_1_s, 'trend_arrow'))
        yield ' trend '
        yield escape(environment.getattr(l_1_s, 'trend'))
        yield '</span></div>\n      </td>\n      <td class="chart">\n'
        if environment.getattr(l_1_s, 'chart'):
            pass
            yield '<img src="'
            yield escape(environment.getattr(l_1_s, 'chart'))
            yield '" width="120" height="32" alt="'
            yield escape(environment.getattr(l_1_s, 'label'))
            yield ' recent closes" title="'
            yield escape(environment.getattr(l_1_s, 'label'))
            yield ': '
            yield escape(environment.getattr(l_1_s, 'bars_text'))
            yield '">'
        yield '        <div class="small">'
        yield escape(environment.getattr(l_1_s, 'bars_text'))
        yield '</div>\n      </td>\n      <td class="price">'
        yield escape(environment.getattr(l_1_s, 'last_close'))
        yield '<div class="small '
        yield escape(environment.getattr(l_1_s, 'tone'))
        yield '" title="change on the last bar">'
        yield escape(environment.getattr(l_1_s, 'change'))
        yield '</div></td>\n    </tr>\n'
    l_1_s = missing
    yield '  </table>\n</td></tr>\n\n<tr><td class="footer">\n  JSON: this page with <code class="nowrap">Accept: application/json</code>, <code>GET /reports</code>, <code>GET /reports/&lt;id&gt;.json</code>, <code>GET /symbols?q=</code>, <code>GET /symbols/&lt;symbol&gt;.json</code>. Figures are computed from the input files; not investment advice.\n</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n'

blocks = {}
debug_info = '8=19&9=25&19=32&24=40&27=43&30=47&31=51&33=59&37=65&47=74&49=76&50=79&55=89&58=93&59=97&62=105&63=117&65=119'