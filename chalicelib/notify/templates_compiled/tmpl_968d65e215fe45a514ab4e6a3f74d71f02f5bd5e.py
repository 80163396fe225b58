from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'symbol.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_s = resolve('s')
    try:
        t_1 = environment.filters['safe']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'safe' found.")
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>'
    yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'symbol'))
    yield ' · Stock Insights report archive</title>\n<style>\n'
    template = environment.get_template('_style.css.j2', 'symbol.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    template = environment.get_template('_archive.css.j2', 'symbol.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</style>\n</head>\n<body>\n<table role="presentation" class="page" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="frame" align="center">\n<table role="presentation" class="sheet" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="crumbs"><a href="../">&larr; Archive</a><a href="../symbols">All symbols</a><a href="'
    yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'json_href'))
    yield '">JSON</a></td></tr>\n<tr><td class="masthead">\n  <div class="brand">Stock Insights &middot; symbol</div>\n  <div class="run">'
    yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'symbol'))
    yield '</div>\n'
    if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'):
        pass
        yield '<div class="meta">'
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'interval'))
        yield ' &middot; last bar '
        yield escape((environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'last_bar') or 'n/a'))
        yield ' &middot; analysed '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'time'))
        yield '</div>'
    yield '</td></tr>\n'
    if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'):
        pass
        yield '<tr><td class="section">\n  <h2>'
        yield escape(('Latest reading' if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'first_page') else 'Reading'))
        yield '</h2>\n  <table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>\n    <td class="kpi"><div class="kpi-value">'
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'last_close'))
        yield '</div><div class="kpi-label">Last close</div></td>\n    <td class="kpi"><div class="kpi-value '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'tone'))
        yield '">'
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'change'))
        yield '</div><div class="kpi-label">Last bar</div></td>\n    <td class="kpi"><div class="kpi-value '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'trend_tone'))
        yield '">'
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'trend_arrow'))
        yield ' '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'trend'))
        yield '</div><div class="kpi-label">Trend</div></td>\n  </tr></table>\n  <p class="facts">Period <span class="'
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'period_tone'))
        yield '">'
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'period_change'))
        yield '</span> over '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'bars'))
        yield ' bars &middot; momentum '
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'momentum'))
        yield ' &middot; volatility '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'volatility'))
        yield ' &middot; volume '
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'volume_ratio'))
        yield ' of average &middot; '
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'anomalies'))
        yield ' anomal'
        yield escape(('y' if (environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'anomalies') == 1) else 'ies'))
        yield ' &middot; <a href="'
        yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'latest'), 'report_href'))
        yield '">report</a></p>\n'
        if environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'summary'):
            pass
            yield '<div class="insight"><b>Summary.</b> '
            yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'summary'))
            yield '\n'
            if environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'opportunities'):
                pass
                yield '<br><b>Opportunities.</b> '
                yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'opportunities'))
            if environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'risks'):
                pass
                yield '<br><b>Risks.</b> '
                yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'risks'))
            if environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'key_anomaly'):
                pass
                yield '<br><b>Key anomaly.</b> '
                yield escape(environment.getattr(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'insight'), 'key_anomaly'))
            yield '</div>'
        yield '</td></tr>\n<tr><td class="section">\n  <h2>Price</h2>\n'
        if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'chart'):
            pass
            yield escape(t_1(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'chart')))
        yield '  <p class="small"><span class="'
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'chart_tone'))
        yield '">'
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'chart_text'))
        yield '</span>: the bars of the readings below, joined by date (a bar two analyses saw is one point).</p>\n</td></tr>\n<tr><td class="section">\n  <h2>Readings</h2>\n  <div class="scroll">\n  <table role="presentation" class="grid" width="100%" cellpadding="0" cellspacing="0">\n    <tr><th>Analysed</th><th class="hide-narrow">Interval</th><th class="num">Close</th><th class="num">Bar</th><th class="num hide-narrow">Period</th><th>Trend</th></tr>\n'
        for l_1_r in environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'readings'):
            _loop_vars = {}
            pass
            yield '    <tr>\n      <td><a class="nowrap" href="'
            yield escape(environment.getattr(l_1_r, 'report_href'))
            yield '" title="'
            yield escape(environment.getattr(l_1_r, 'file'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'time'))
            yield '</a><div class="small">'
            yield escape(environment.getattr(l_1_r, 'bars'))
            yield ' bars to <span class="nowrap">'
            yield escape((environment.getattr(l_1_r, 'last_bar') or 'n/a'))
            yield '</span></div></td>\n      <td class="small hide-narrow nowrap">'
            yield escape(environment.getattr(l_1_r, 'interval'))
            yield '</td>\n      <td class="num">'
            yield escape(environment.getattr(l_1_r, 'last_close'))
            yield '</td>\n      <td class="num '
            yield escape(environment.getattr(l_1_r, 'tone'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'change'))
            yield '</td>\n      <td class="num hide-narrow '
            yield escape(environment.getattr(l_1_r, 'period_tone'))
            yield '">'
            yield escape(environment.getattr(l_1_r, 'period_change'))
            yield '</td>\n      <td class="'
            yield escape(environment.getattr(l_1_r, 'trend_tone'))
            yield ' nowrap">'
            yield escape(environment.getattr(l_1_r, 'trend_arrow'))
            yield ' '
            yield escape(environment.getattr(l_1_r, 'trend'))
            yield '</td>\n    </tr>\n'
        l_1_r = missing
        yield '  </table>\n  </div>\n'
        if environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'next'):
            pass
            yield '<p class="small"><a href="'
            yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'self_href'))
            yield '?next='
            yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'next'))
            yield '">Older readings &rarr;</a></p>'
        if (not environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'first_page')):
            pass
            yield '<p class="small"><a href="'
            yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'self_href'))
            yield '">Newest readings</a></p>'
        yield '</td></tr>\n'
    else:
        pass
        yield '<tr><td class="section"><p class="small">No older readings. <a href="'
        yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'self_href'))
        yield '">Newest readings</a></p></td></tr>\n'
    yield '<tr><td class="footer">\n  JSON: <code>'
    yield escape(environment.getattr((undefined(name='s') if l_0_s is missing else l_0_s), 'json_href'))
    yield '</code> or this page with <code class="nowrap">Accept: application/json</code>. Figures are computed from the input files; not investment advice.\n</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n'

blocks = {}
debug_info = '6=19&8=21&9=27&16=34&19=36&20=38&22=48&24=51&26=53&27=55&28=59&30=65&31=83&32=88&33=92&34=96&38=102&39=106&46=110&48=114&49=124&50=126&51=128&52=132&53=136&58=144&59=151&62=160&65=163'