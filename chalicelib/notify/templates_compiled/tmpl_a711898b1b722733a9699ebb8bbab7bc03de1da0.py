from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'notice.txt.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_n = resolve('n')
    l_0_wrap = missing
    try:
        t_1 = environment.filters['wrap_text']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'wrap_text' found.")
    pass
    def macro(l_1_text, l_1_indent, l_1_hang):
        t_2 = []
        if l_1_text is missing:
            l_1_text = undefined("parameter 'text' was not provided", name='text')
        if l_1_indent is missing:
            l_1_indent = '  '
        if l_1_hang is missing:
            l_1_hang = 0
        pass
        t_2.append(
            str(t_1(l_1_text, l_1_indent, l_1_hang)),
        )
        return concat(t_2)
    context.exported_vars.add('wrap')
    context.vars['wrap'] = l_0_wrap = Macro(environment, macro, 'wrap', ('text', 'indent', 'hang'), False, False, False, context.eval_ctx.autoescape)
    yield 'STOCK INSIGHTS: THE DATA FAILED\n'
    yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'headline'), ''))
    yield '\n\nWHAT FAILED\n'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'detail'):
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'detail')))
        yield '\n'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'symbols_line'):
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'symbols_line')))
        yield '\n'
    if environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'rows'):
        pass
        yield '  Symbol errors:  '
        yield str(environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'count_text'))
        yield '\n'
        for l_1_e in environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'rows'):
            _loop_vars = {}
            pass
            yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('- ', environment.getattr(l_1_e, 'symbol'), ': ', (str_join((environment.getattr(l_1_e, 'code'), ' ', )) if environment.getattr(l_1_e, 'code') else ''), environment.getattr(l_1_e, 'message'), )), '    ', 2, _loop_vars=_loop_vars))
            yield '\n'
        l_1_e = missing
        if environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'hidden'):
            pass
            yield '    - and '
            yield str(environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'hidden'))
            yield ' more in the rejects file\n'
    yield '\nWHAT TO DO\n'
    for l_1_action in environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'actions'):
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap), str_join(('- ', environment.getattr(l_1_action, 'text'), (str_join((' ', environment.getattr(l_1_action, 'code'), )) if environment.getattr(l_1_action, 'code') else ''), )), '  ', 2, _loop_vars=_loop_vars))
        yield '\n'
    l_1_action = missing
    yield '\n--\nFile:           '
    yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'input_uri'))
    yield '\nCorrelation id: '
    yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'correlation_id'))
    yield '\nNotice id:      '
    yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'notice_id'))
    yield '\nSent '
    yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'created_at'))
    yield ' by the Stock Insights pipeline.\n'

blocks = {}
debug_info = '1=19&3=35&6=37&7=39&9=41&10=43&12=45&13=48&14=50&15=53&17=56&18=59&23=62&24=65&28=69&29=71&30=73&31=75'