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
        t_1 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_2 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    pass
    def macro(l_1_text, l_1_indent):
        t_3 = []
        if l_1_text is missing:
            l_1_text = undefined("parameter 'text' was not provided", name='text')
        if l_1_indent is missing:
            l_1_indent = '  '
        pass
        t_3.extend((
            str(l_1_indent),
            str(t_2(environment, l_1_text, 74, break_long_words=False, wrapstring=str_join(('\n', l_1_indent, )))),
        ))
        return concat(t_3)
    context.exported_vars.add('wrap')
    context.vars['wrap'] = l_0_wrap = Macro(environment, macro, 'wrap', ('text', 'indent'), False, False, False, context.eval_ctx.autoescape)
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
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('- ', environment.getattr(l_1_e, 'symbol'), ': ', (str_join((environment.getattr(l_1_e, 'code'), ' ', )) if environment.getattr(l_1_e, 'code') else ''), environment.getattr(l_1_e, 'message'), )), '    ', _loop_vars=_loop_vars))
        yield '\n'
    l_1_e = missing
    if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'hidden'):
        pass
        yield '    - and '
        yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbol_errors'), 'hidden'))
        yield ' more in the rejects file\n'
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
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'other_rules'):
            pass
            yield '    - and '
            yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'other_rules'))
            yield ' more rule'
            yield str(('s' if (environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'processing'), 'other_rules') != 1) else cond_expr_undefined("the inline if-expression on line 28 in 'report.txt.j2' evaluated to false and no else section was defined.")))
            yield '\n'
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
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Sentiment:      ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'sentiment_label'), ', ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'breadth'), ': ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'advancers'), ' up, ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'decliners'), ' down, ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'unchanged'), ' unchanged', (str_join(('; ', environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols_without_change'), ' with too few bars for a change', )) if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'symbols_without_change') else ''), )), '  '))
        yield '\n  Turbulence:     '
        yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence'))
        yield ' ('
        if environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_note'):
            pass
            yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'turbulence_note'))
            yield '; '
        yield str(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'anomaly_text'))
        yield ')\n'
    yield '  Top gainers:    '
    l_1_loop = missing
    t_4 = 1
    for l_1_m, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'gainers'), undefined):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_m, 'symbol'))
        yield ' '
        yield str(environment.getattr(l_1_m, 'change'))
        yield str((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 46 in 'report.txt.j2' evaluated to false and no else section was defined.")))
        t_4 = 0
    l_1_loop = l_1_m = missing
    if t_4:
        pass
        yield 'none'
    yield '\n  Top losers:     '
    l_1_loop = missing
    t_5 = 1
    for l_1_m, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'losers'), undefined):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_m, 'symbol'))
        yield ' '
        yield str(environment.getattr(l_1_m, 'change'))
        yield str((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 48 in 'report.txt.j2' evaluated to false and no else section was defined.")))
        t_5 = 0
    l_1_loop = l_1_m = missing
    if t_5:
        pass
        yield 'none'
    yield '\n  Most volatile:  '
    l_1_loop = missing
    t_6 = 1
    for l_1_m, l_1_loop in LoopContext(environment.getattr(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'market'), 'volatile'), undefined):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_m, 'symbol'))
        yield ' '
        yield str(environment.getattr(l_1_m, 'value'))
        yield str((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 50 in 'report.txt.j2' evaluated to false and no else section was defined.")))
        t_6 = 0
    l_1_loop = l_1_m = missing
    if t_6:
        pass
        yield 'none'
    yield '\n\nANOMALIES\n'
    t_7 = 1
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
        t_7 = 0
    l_1_a = missing
    if t_7:
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
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Showing ', t_1(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols')), ' of ', environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'symbols_total'), ' symbols: the biggest movers, the most volatile and those with anomalies. Every symbol is in the full record, ', environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'record_uri'), '.', ))))
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
            yield '  trend '
            yield str(environment.getattr(l_1_s, 'trend'))
        else:
            pass
            yield '  no valid bars'
        yield '\n'
        if (environment.getattr(l_1_s, 'chart_bars') >= 2):
            pass
            yield '  Last '
            yield str(environment.getattr(l_1_s, 'chart_bars'))
            yield ' closes: '
            yield str(environment.getattr(l_1_s, 'chart_text'))
            yield '  '
            yield str(environment.getattr(l_1_s, 'chart_change'))
            yield ' ('
            yield str(environment.getattr(l_1_s, 'chart_bars'))
            yield '-bar range '
            yield str(environment.getattr(l_1_s, 'chart_low'))
            yield ' to '
            yield str(environment.getattr(l_1_s, 'chart_high'))
            yield ')\n'
        if environment.getattr(l_1_s, 'has_bars'):
            pass
            yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(((str_join(('Period ', environment.getattr(l_1_s, 'period_change'), ' over ', environment.getattr(l_1_s, 'bars_text'), ' (', environment.getattr(l_1_s, 'first'), ' to ', environment.getattr(l_1_s, 'last'), ')', )) if (environment.getattr(l_1_s, 'first') != environment.getattr(l_1_s, 'last')) else str_join((environment.getattr(l_1_s, 'bars_text'), ' (', environment.getattr(l_1_s, 'first'), ')', ))), '; ', environment.getattr(l_1_s, 'momentum_label'), ' ', environment.getattr(l_1_s, 'momentum'), '; volatility ', environment.getattr(l_1_s, 'volatility'), '; volume ', environment.getattr(l_1_s, 'volume_ratio'), ' avg', (str_join(('; ', environment.getattr(l_1_s, 'anomaly_count'), ' anomal', ('y' if (environment.getattr(l_1_s, 'anomaly_count') == 1) else 'ies'), )) if environment.getattr(l_1_s, 'anomaly_count') else ''), '.', )), _loop_vars=_loop_vars))
            yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), environment.getattr(l_1_s, 'summary'), _loop_vars=_loop_vars))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Opportunities: ', environment.getattr(l_1_s, 'opportunities'), )), _loop_vars=_loop_vars))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Risks: ', environment.getattr(l_1_s, 'risks'), )), _loop_vars=_loop_vars))
        yield '\n'
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Key anomaly: ', environment.getattr(l_1_s, 'key_anomaly'), )), _loop_vars=_loop_vars))
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
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('Note: ', l_1_note, )), _loop_vars=_loop_vars))
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
    yield ')\nFull record:    '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'record_uri'))
    yield '\nGenerated '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'created_at'))
    yield ' by the Stock Insights pipeline. Not investment advice.\n'

blocks = {}
debug_info = '1=25&3=40&4=42&5=46&6=48&10=51&11=53&12=55&13=57&14=61&15=65&16=67&17=70&19=73&20=76&22=78&24=81&25=85&27=92&28=95&30=99&37=106&40=108&43=113&44=115&46=126&48=141&50=156&54=170&55=174&57=187&59=189&60=192&64=197&65=199&67=201&68=204&70=208&72=212&74=227&75=230&77=242&78=244&80=246&81=248&82=250&83=252&87=256&88=260&89=266&90=269&94=273&95=275&96=277&97=281&98=283'