from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'report.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_r = resolve('r')
    try:
        t_1 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="x-apple-disable-message-reformatting">\n<title>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'subject'))
    yield '</title>\n<style>\n'
    template = environment.get_template('_style.css.j2', 'report.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</style>\n</head>\n<body>\n<table role="presentation" class="page" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="frame" align="center">\n<table role="presentation" class="sheet" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="masthead">\n  <div class="brand">Stock Insights report</div>\n  <div class="run">'
    yield escape((environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'label') if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'known') else 'No market date'))
    yield '</div>\n  <div class="meta">\n    <span class="badge badge-'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_tone'))
    yield '">'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_label'))
    yield '</span>\n    &nbsp;'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'headline'))
    yield '\n  </div>\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'note'):
        pass
        yield '<div class="meta">'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'note'))
        yield '</div>'
    if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'):
        pass
        yield '<div class="meta"><a class="masthead-link" href="'
        yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'))
        yield '">Open this report in the archive</a></div>'
    yield '</td></tr>\n\n<tr><td class="section">\n  <h2>Processing summary</h2>\n  <p class="small">File <code>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'run_name'))
    yield '</code> &middot; report made <span class="nowrap">'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'created_at'))
    yield '</span></p>\n  <table role="presentation" width="100%" cellpadding="0" cellspacing="0">\n    <tr>\n      <td class="kpi"><div class="kpi-value">'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'input'))
    yield '</div><div class="kpi-label">Bars in</div></td>\n      <td class="kpi"><div class="kpi-value up">'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid'))
    yield '</div><div class="kpi-label">Valid &middot; '
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid_rate'))
    yield '</div></td>\n      <td class="kpi"><div class="kpi-value '
    yield escape(('down' if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'has_rejects') else 'flat'))
    yield '">'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected'))
    yield '</div><div class="kpi-label">Rejected &middot; '
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected_rate'))
    yield '</div></td>\n    </tr>\n  </table>\n'
    if (environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid_width') or environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected_width')):
        pass
        yield '  <table role="presentation" class="bar" width="100%" cellpadding="0" cellspacing="0">\n    <tr>\n'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid_width'):
            pass
            yield '<td class="seg-up" width="'
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid_width'))
            yield '%">&nbsp;</td>'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected_width'):
            pass
            yield '<td class="seg-down" width="'
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected_width'))
            yield '%">&nbsp;</td>'
        yield '    </tr>\n  </table>\n'
    yield '  <p class="small">\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rules'):
        pass
        yield '    Top reject rules, with their share of the rejected bars:\n'
        l_1_loop = missing
        for l_1_rule, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rules'), undefined):
            _loop_vars = {}
            pass
            yield '<code>'
            yield escape(environment.getattr(l_1_rule, 'rule'))
            yield '</code> '
            yield escape(environment.getattr(l_1_rule, 'count'))
            yield ' ('
            yield escape(environment.getattr(l_1_rule, 'share'))
            yield ')'
            yield escape((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 48 in 'report.html.j2' evaluated to false and no else section was defined.")))
        l_1_loop = l_1_rule = missing
        yield '.\n'
    elif environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'has_rejects'):
        pass
        yield '    Reject rules were not recorded for this file.\n'
    else:
        pass
        yield '    No bar was rejected.\n'
    if (not environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'count')):
        pass
        yield 'No symbol errors.'
    yield '  </p>\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'count'):
        pass
        yield '  <div class="label">Symbol errors: '
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'count_text'))
        yield '</div>\n  <table role="presentation" class="grid errors" width="100%" cellpadding="0" cellspacing="0">\n'
        for l_1_e in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'rows'):
            _loop_vars = {}
            pass
            yield '    <tr><td class="nowrap"><b class="'
            yield escape(('' if environment.getattr(l_1_e, 'known') else 'flat'))
            yield '">'
            yield escape(environment.getattr(l_1_e, 'symbol'))
            yield '</b></td><td>'
            if environment.getattr(l_1_e, 'code'):
                pass
                yield '<code>'
                yield escape(environment.getattr(l_1_e, 'code'))
                yield '</code> '
            yield escape(environment.getattr(l_1_e, 'message'))
            yield '</td></tr>\n'
        l_1_e = missing
        yield '  </table>\n'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'hidden'):
            pass
            yield '<p class="small">'
            if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'rows'):
                pass
                yield '&hellip; and '
                yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'hidden'))
                yield ' more'
            else:
                pass
                yield 'Listed'
            yield ' in the rejects file.</p>'
    yield '</td></tr>\n\n<tr><td class="section">\n  <h2>Executive summary</h2>\n  <p class="lead">'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'executive_summary'))
    yield '</p>\n</td></tr>\n\n<tr><td class="section">\n  <h2>Market overview</h2>\n'
    if (not environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_total')):
        pass
        yield '  <p>No market reading: no symbol has valid bars.</p>\n'
    else:
        pass
        yield '  <p>\n    Sentiment <b class="'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_tone'))
        yield '">'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_label'))
        yield '</b>,\n    '
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'breadth'))
        yield ':\n    <span class="up">'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'advancers'))
        yield ' up</span>,\n    <span class="down">'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'decliners'))
        yield ' down</span>,\n    '
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'unchanged'))
        yield ' unchanged'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols_without_change'):
            pass
            yield '; '
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols_without_change'))
            yield ' with too few bars for a change'
        yield '.\n    Turbulence <b class="'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_tone'))
        yield '">'
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence'))
        yield '</b>\n    ('
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_note'):
            pass
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_note'))
            yield '; '
        yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'anomaly_text'))
        yield ').\n  </p>\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols'):
        pass
        yield '  <table role="presentation" class="bar" width="100%" cellpadding="0" cellspacing="0">\n    <tr>\n'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'advancers_width'):
            pass
            yield '<td class="seg-up" width="'
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'advancers_width'))
            yield '%">&nbsp;</td>'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'unchanged_width'):
            pass
            yield '<td class="seg-flat" width="'
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'unchanged_width'))
            yield '%">&nbsp;</td>'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'decliners_width'):
            pass
            yield '<td class="seg-down" width="'
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'decliners_width'))
            yield '%">&nbsp;</td>'
        yield '    </tr>\n  </table>\n'
    yield '  <table role="presentation" width="100%" cellpadding="0" cellspacing="0">\n    <tr>\n      <td class="col3">\n        <div class="label">Top gainers</div>\n'
    t_2 = 1
    for l_1_m in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'gainers'):
        _loop_vars = {}
        pass
        yield '<div><b>'
        yield escape(environment.getattr(l_1_m, 'symbol'))
        yield '</b> <span class="'
        yield escape(environment.getattr(l_1_m, 'tone'))
        yield '">'
        yield escape(environment.getattr(l_1_m, 'change'))
        yield '</span></div>'
        t_2 = 0
    l_1_m = missing
    if t_2:
        pass
        yield '<div class="small">none</div>'
    yield '      </td>\n      <td class="col3">\n        <div class="label">Top losers</div>\n'
    t_3 = 1
    for l_1_m in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'losers'):
        _loop_vars = {}
        pass
        yield '<div><b>'
        yield escape(environment.getattr(l_1_m, 'symbol'))
        yield '</b> <span class="'
        yield escape(environment.getattr(l_1_m, 'tone'))
        yield '">'
        yield escape(environment.getattr(l_1_m, 'change'))
        yield '</span></div>'
        t_3 = 0
    l_1_m = missing
    if t_3:
        pass
        yield '<div class="small">none</div>'
    yield '      </td>\n      <td class="col3">\n        <div class="label">Most volatile</div>\n'
    t_4 = 1
    for l_1_m in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'volatile'):
        _loop_vars = {}
        pass
        yield '<div><b>'
        yield escape(environment.getattr(l_1_m, 'symbol'))
        yield '</b> <span class="warn">'
        yield escape(environment.getattr(l_1_m, 'value'))
        yield '</span></div>'
        t_4 = 0
    l_1_m = missing
    if t_4:
        pass
        yield '<div class="small">none</div>'
    yield '      </td>\n    </tr>\n  </table>\n</td></tr>\n\n<tr><td class="section">\n  <h2>Anomalies</h2>\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'rows'):
        pass
        yield '  <table role="presentation" class="grid" width="100%" cellpadding="0" cellspacing="0">\n    <tr><th>Symbol</th><th>Type</th><th>When</th><th class="num">Value</th></tr>\n'
        for l_1_a in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'rows'):
            _loop_vars = {}
            pass
            yield '    <tr><td><b>'
            yield escape(environment.getattr(l_1_a, 'symbol'))
            yield '</b></td><td>'
            yield escape(environment.getattr(l_1_a, 'type'))
            yield '</td><td>'
            yield escape(environment.getattr(l_1_a, 'when'))
            yield '</td><td class="num '
            yield escape(environment.getattr(l_1_a, 'tone'))
            yield '">'
            yield escape(environment.getattr(l_1_a, 'value'))
            yield '</td></tr>\n'
        l_1_a = missing
        yield '  </table>\n'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'hidden'):
            pass
            yield '<p class="small">&hellip; and '
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'hidden'))
            yield ' more (of '
            yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'total'))
            yield ').</p>'
    else:
        pass
        yield '  <p class="small">No anomalies in the last '
        yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomaly_window'))
        yield ' of any symbol.</p>\n'
    yield '</td></tr>\n\n<tr><td class="section">\n  <h2>Symbols</h2>\n'
    if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_hidden'):
        pass
        yield '  <p class="small">Showing '
        yield escape(t_1(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols')))
        yield ' of '
        yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_total'))
        yield ' symbols: the biggest movers, the most volatile and those with anomalies. '
        if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'):
            pass
            yield 'Every symbol is on <a href="'
            yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'))
            yield '">the report\'s page</a>.'
        else:
            pass
            yield 'Every symbol is in the full record, <code>'
            yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'record_uri'))
            yield '</code>.'
        yield '</p>\n'
    if (not environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols')):
        pass
        yield '  <p class="small">No symbol has valid bars in this file'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'count'):
            pass
            yield ': see the symbol errors above'
        yield '.</p>\n'
    yield '  <table role="presentation" width="100%" cellpadding="0" cellspacing="0">\n'
    for l_1_s in environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols'):
        _loop_vars = {}
        pass
        yield '    <tr class="sym-head">\n      <td class="sym-cell">\n        <div class="sym">'
        if environment.getattr(l_1_s, 'href'):
            pass
            yield '<a class="sym-link" href="'
            yield escape(environment.getattr(l_1_s, 'href'))
            yield '">'
            yield escape(environment.getattr(l_1_s, 'symbol'))
            yield '</a>'
        else:
            pass
            yield escape(environment.getattr(l_1_s, 'symbol'))
        yield '</div>\n'
        if environment.getattr(l_1_s, 'has_bars'):
            pass
            yield '<div class="small '
            yield escape(environment.getattr(l_1_s, 'trend_tone'))
            yield '">'
            yield escape(environment.getattr(l_1_s, 'trend_arrow'))
            yield ' '
            yield escape(environment.getattr(l_1_s, 'trend'))
            yield '</div>'
        yield '      </td>\n      <td class="chart">\n'
        if environment.getattr(l_1_s, 'chart_cid'):
            pass
            yield '<img src="cid:'
            yield escape(environment.getattr(l_1_s, 'chart_cid'))
            yield '" width="120" height="32" alt="'
            yield escape(environment.getattr(l_1_s, 'symbol'))
            yield ' price chart" title="'
            yield escape(environment.getattr(l_1_s, 'symbol'))
            yield ': last '
            yield escape(environment.getattr(l_1_s, 'chart_bars'))
            yield ' closes, '
            yield escape(environment.getattr(l_1_s, 'chart_low'))
            yield ' to '
            yield escape(environment.getattr(l_1_s, 'chart_high'))
            yield '">'
        if (environment.getattr(l_1_s, 'chart_bars') >= 2):
            pass
            yield '<div class="small"><span class="'
            yield escape(environment.getattr(l_1_s, 'chart_tone'))
            yield '">'
            yield escape(environment.getattr(l_1_s, 'chart_change'))
            yield '</span> over '
            yield escape(environment.getattr(l_1_s, 'chart_moves'))
            yield '</div>'
        yield '      </td>\n      <td class="price">\n'
        if environment.getattr(l_1_s, 'has_bars'):
            pass
            yield escape(environment.getattr(l_1_s, 'last_close'))
            yield '<br><span class="'
            yield escape(environment.getattr(l_1_s, 'tone'))
            yield '">'
            yield escape(environment.getattr(l_1_s, 'arrow'))
            yield ' '
            yield escape(environment.getattr(l_1_s, 'change'))
            yield '</span>'
        else:
            pass
            yield '<span class="flat">no valid bars</span>'
        yield '      </td>\n    </tr>\n    <tr><td colspan="3" class="facts">\n'
        if environment.getattr(l_1_s, 'has_bars'):
            pass
            if (environment.getattr(l_1_s, 'first') != environment.getattr(l_1_s, 'last')):
                pass
                yield 'Period <span class="'
                yield escape(environment.getattr(l_1_s, 'period_tone'))
                yield '">'
                yield escape(environment.getattr(l_1_s, 'period_change'))
                yield '</span> over '
                yield escape(environment.getattr(l_1_s, 'bars_text'))
                yield ' (<span class="nowrap">'
                yield escape(environment.getattr(l_1_s, 'first'))
                yield '</span> &rarr; <span class="nowrap">'
                yield escape(environment.getattr(l_1_s, 'last'))
                yield '</span>)'
            else:
                pass
                yield escape(environment.getattr(l_1_s, 'bars_text'))
                yield ' (<span class="nowrap">'
                yield escape(environment.getattr(l_1_s, 'first'))
                yield '</span>)'
            for l_2_fact in environment.getattr(l_1_s, 'facts'):
                _loop_vars = {}
                pass
                yield ' &middot; '
                yield escape(l_2_fact)
            l_2_fact = missing
        else:
            pass
            yield '      No valid bars in this file.\n'
        yield '    </td></tr>\n    <tr><td colspan="3" class="insight">\n      <div>'
        yield escape(environment.getattr(l_1_s, 'summary'))
        yield '</div>\n      <div><b>Opportunities:</b> '
        yield escape(environment.getattr(l_1_s, 'opportunities'))
        yield '</div>\n      <div><b>Risks:</b> '
        yield escape(environment.getattr(l_1_s, 'risks'))
        yield '</div>\n      <div><b>Key anomaly:</b> '
        yield escape(environment.getattr(l_1_s, 'key_anomaly'))
        yield '</div>\n    </td></tr>\n'
    l_1_s = missing
    yield '  </table>\n</td></tr>\n\n<tr><td class="section">\n  <h2>About these insights</h2>\n  <p class="small">\n    Source: <b>'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'source_label'))
    yield '</b> &middot; model <code>'
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'model'))
    yield '</code>\n    &middot; tokens '
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'input_tokens'))
    yield ' in / '
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'output_tokens'))
    yield ' out\n    &middot; cost '
    yield escape(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'cost'))
    yield '.\n'
    for l_1_note in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'notes'):
        _loop_vars = {}
        pass
        yield '<br>Note: '
        yield escape(l_1_note)
    l_1_note = missing
    yield '  </p>\n</td></tr>\n\n<tr><td class="footer">\n  Correlation id: <code>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'correlation_id'))
    yield '</code><br>\n  Analysis id: <code>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'analysis_id'))
    yield '</code><br>\n  Input: <code>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'source_uri'))
    yield '</code> (ETag <code>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'etag'))
    yield '</code>)<br>\n'
    if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'):
        pass
        yield 'Report page: <a href="'
        yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'))
        yield '"><code>'
        yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'))
        yield '</code></a><br>'
    yield '  Full record: <code>'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'record_uri'))
    yield '</code><br>\n  Generated <span class="nowrap">'
    yield escape(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'created_at'))
    yield '</span> by the Stock Insights pipeline. Figures are computed from the input file; not investment advice.\n</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n'

blocks = {}
debug_info = '7=19&9=21&18=28&20=30&21=34&23=36&24=41&29=47&32=51&33=53&34=57&37=63&40=66&41=71&46=78&48=82&49=95&54=101&56=105&57=108&59=110&60=114&63=127&69=140&74=142&78=148&79=152&80=154&81=156&82=158&83=166&84=170&87=176&90=179&91=184&92=189&100=197&104=214&108=231&116=245&119=248&120=252&123=264&125=274&131=277&132=280&134=295&135=298&138=303&141=307&142=318&145=328&146=343&149=353&153=367&154=369&155=388&161=398&162=400&163=402&164=404&173=408&174=412&175=416&176=418&181=425&182=427&183=429&184=433&185=441&186=443'