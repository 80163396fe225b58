from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'report.txt.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_r = resolve('r')
    l_0_wrap = missing
    try:
        t_1 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_2 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_3 = environment.filters['wrap_text']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'wrap_text' found.")
    pass
    def macro(l_1_text, l_1_indent, l_1_hang):
        t_4 = []
        if l_1_text is missing:
            l_1_text = undefined("parameter 'text' was not provided", name='text')
        if l_1_indent is missing:
            l_1_indent = '  '
        if l_1_hang is missing:
            l_1_hang = 0
        pass
        t_4.append(
            str(t_3(l_1_text, l_1_indent, l_1_hang)),
        )
        return concat(t_4)
    context.exported_vars.add('wrap')
    context.vars['wrap'] = l_0_wrap = Macro(environment, macro, 'wrap', ('text', 'indent', 'hang'), False, False, False, context.eval_ctx.autoescape)
    yield 'STOCK INSIGHTS REPORT\n'
    yield str((environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'label') if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'known') else 'No market date'))
    yield '\n'
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_label'))
    yield ' | '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'headline'))
    yield '\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'note'):
        pass
        yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'session'), 'note'))
        yield '\n'
    yield '\nPROCESSING SUMMARY\n  File:           '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'run_name'))
    yield '\n  Report made:    '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'created_at'))
    yield '\n  Bars in:        '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'input'))
    yield '\n  Valid:          '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid'))
    yield ' ('
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'valid_rate'))
    yield ')\n  Rejected:       '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected'))
    yield ' ('
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rejected_rate'))
    yield ')\n  Symbol errors:  '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'count_text'))
    yield '\n'
    for l_1_e in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'rows'):
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('- ', environment.getattr(l_1_e, 'symbol'), ': ', (str_join((environment.getattr(l_1_e, 'code'), ' ', )) if environment.getattr(l_1_e, 'code') else ''), environment.getattr(l_1_e, 'message'), )), '    ', 2, _loop_vars=_loop_vars))
        yield '\n'
    l_1_e = missing
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'hidden'):
        pass
        yield '    - '
        yield str((str_join(('and ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'hidden'), ' more', )) if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'rows') else 'listed'))
        yield ' in the rejects file\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rules'):
        pass
        yield '  Top reject rules (share of the rejected bars):\n'
        for l_1_rule in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'rules'):
            _loop_vars = {}
            pass
            yield '    - '
            yield str(environment.getattr(l_1_rule, 'rule'))
            yield ': '
            yield str(environment.getattr(l_1_rule, 'count'))
            yield ' ('
            yield str(environment.getattr(l_1_rule, 'share'))
            yield ')\n'
        l_1_rule = missing
    elif environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'has_rejects'):
        pass
        yield '  Reject rules were not recorded for this file.\n'
    else:
        pass
        yield '  No bar was rejected.\n'
    yield '\nEXECUTIVE SUMMARY\n'
    yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'executive_summary')))
    yield '\n\nMARKET OVERVIEW\n'
    if (not environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_total')):
        pass
        yield '  No market reading: no symbol has valid bars.\n'
    else:
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Sentiment:      ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_label'), ', ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'breadth'), ': ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'advancers'), ' up, ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'decliners'), ' down, ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'unchanged'), ' unchanged', (str_join(('; ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols_without_change'), ' with too few bars for a change', )) if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols_without_change') else ''), )), '  ', 16))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Turbulence:     ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence'), ' (', (str_join((environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_note'), '; ', )) if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_note') else ''), environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'anomaly_text'), ')', )), '  ', 16))
        yield '\n'
    yield '  Top gainers:    '
    l_1_loop = missing
    t_5 = 1
    for l_1_m, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'gainers'), undefined):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_m, 'symbol'))
        yield ' '
        yield str(environment.getattr(l_1_m, 'change'))
        yield str((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 43 in 'report.txt.j2' evaluated to false and no else section was defined.")))
        t_5 = 0
    l_1_loop = l_1_m = missing
    if t_5:
        pass
        yield 'none'
    yield '\n  Top losers:     '
    l_1_loop = missing
    t_6 = 1
    for l_1_m, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'losers'), undefined):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_m, 'symbol'))
        yield ' '
        yield str(environment.getattr(l_1_m, 'change'))
        yield str((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 45 in 'report.txt.j2' evaluated to false and no else section was defined.")))
        t_6 = 0
    l_1_loop = l_1_m = missing
    if t_6:
        pass
        yield 'none'
    yield '\n  Most volatile:  '
    l_1_loop = missing
    t_7 = 1
    for l_1_m, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'volatile'), undefined):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_m, 'symbol'))
        yield ' '
        yield str(environment.getattr(l_1_m, 'value'))
        yield str((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 47 in 'report.txt.j2' evaluated to false and no else section was defined.")))
        t_7 = 0
    l_1_loop = l_1_m = missing
    if t_7:
        pass
        yield 'none'
    yield '\n\nANOMALIES\n'
    t_8 = 1
    for l_1_a in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'rows'):
        _loop_vars = {}
        pass
        yield '  - '
        yield str(environment.getattr(l_1_a, 'symbol'))
        yield ': '
        yield str(environment.getattr(l_1_a, 'type'))
        yield ' on '
        yield str(environment.getattr(l_1_a, 'when'))
        yield ', '
        yield str(environment.getattr(l_1_a, 'value'))
        yield '\n'
        t_8 = 0
    l_1_a = missing
    if t_8:
        pass
        yield '  No anomalies in the last '
        yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomaly_window'))
        yield ' of any symbol.\n'
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'hidden'):
        pass
        yield '  ... and '
        yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'hidden'))
        yield ' more (of '
        yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'anomalies'), 'total'))
        yield ').\n'
    yield '\nSYMBOLS\n'
    if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_hidden'):
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Showing ', t_2(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols')), ' of ', environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_total'), ' symbols: the biggest movers, the most volatile and those with anomalies. Every symbol is ', (str_join(("on the report's page, ", environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'), )) if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href') else str_join(('in the full record, ', environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'record_uri'), ))), '.', ))))
        yield '\n'
    if (not environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols')):
        pass
        yield '  No symbol has valid bars in this file'
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'count'):
            pass
            yield ': see the symbol errors above'
        yield '.\n'
    for l_1_s in environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols'):
        _loop_vars = {}
        pass
        yield '\n'
        yield str(environment.getattr(l_1_s, 'symbol'))
        if environment.getattr(l_1_s, 'has_bars'):
            pass
            yield '  '
            yield str(environment.getattr(l_1_s, 'last_close'))
            yield '  '
            yield str(environment.getattr(l_1_s, 'arrow'))
            yield ' '
            yield str(environment.getattr(l_1_s, 'change'))
            yield '  '
            yield str(environment.getattr(l_1_s, 'trend'))
        else:
            pass
            yield '  no valid bars'
        yield '\n'
        if environment.getattr(l_1_s, 'href'):
            pass
            yield '  '
            yield str(environment.getattr(l_1_s, 'href'))
            yield '\n'
        if (environment.getattr(l_1_s, 'chart_bars') >= 2):
            pass
            yield '  Last '
            yield str(environment.getattr(l_1_s, 'chart_bars'))
            yield ' closes: '
            yield str(environment.getattr(l_1_s, 'chart_text'))
            yield '  '
            yield str(environment.getattr(l_1_s, 'chart_change'))
            yield ' over '
            yield str(environment.getattr(l_1_s, 'chart_moves'))
            yield '\n'
        if environment.getattr(l_1_s, 'has_bars'):
            pass
            yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join((t_1(context.eval_ctx, ([(str_join(('Period ', environment.getattr(l_1_s, 'period_change'), ' over ', environment.getattr(l_1_s, 'bars_text'), ' (', environment.getattr(l_1_s, 'first'), ' to ', environment.getattr(l_1_s, 'last'), ')', )) if (environment.getattr(l_1_s, 'first') != environment.getattr(l_1_s, 'last')) else str_join((environment.getattr(l_1_s, 'bars_text'), ' (', environment.getattr(l_1_s, 'first'), ')', )))] + environment.getattr(l_1_s, 'facts')), '; '), '.', )), _loop_vars=_loop_vars))
            yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), environment.getattr(l_1_s, 'summary'), _loop_vars=_loop_vars))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Opportunities: ', environment.getattr(l_1_s, 'opportunities'), )), '  ', 15, _loop_vars=_loop_vars))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Risks: ', environment.getattr(l_1_s, 'risks'), )), '  ', 7, _loop_vars=_loop_vars))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Key anomaly: ', environment.getattr(l_1_s, 'key_anomaly'), )), '  ', 13, _loop_vars=_loop_vars))
        yield '\n'
    l_1_s = missing
    yield '\nABOUT THESE INSIGHTS\n  Source: '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'source_label'))
    yield '; model: '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'model'))
    yield '\n  Tokens: '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'input_tokens'))
    yield ' in / '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'output_tokens'))
    yield ' out; cost '
    yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'cost'))
    yield '\n'
    for l_1_note in environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'insights'), 'notes'):
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Note: ', l_1_note, )), '  ', 6, _loop_vars=_loop_vars))
        yield '\n'
    l_1_note = missing
    yield '\n--\nCorrelation id: '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'correlation_id'))
    yield '\nAnalysis id:    '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'analysis_id'))
    yield '\nInput:          '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'source_uri'))
    yield ' (ETag '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'etag'))
    yield ')\n'
    if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'):
        pass
        yield 'Report page:    '
        yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'report_href'))
        yield '\n'
    yield 'Full record:    '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'record_uri'))
    yield '\nGenerated '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'created_at'))
    yield ' by the Stock Insights pipeline. Not investment advice.\n'

blocks = {}
debug_info = '1=31&3=47&4=49&5=53&6=55&10=58&11=60&12=62&13=64&14=68&15=72&16=74&17=77&19=80&20=83&22=85&24=88&25=92&27=99&34=106&37=108&40=113&41=115&43=120&45=135&47=150&51=164&52=168&54=181&56=183&57=186&61=191&62=193&64=195&65=198&67=202&69=206&71=221&72=224&74=226&75=229&77=237&78=239&80=241&81=243&82=245&83=247&87=251&88=255&89=261&90=264&94=268&95=270&96=272&97=276&98=279&100=282&101=284'