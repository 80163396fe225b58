from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'notice.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_n = resolve('n')
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="x-apple-disable-message-reformatting">\n<title>'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'subject'))
    yield '</title>\n<style>\n'
    template = environment.get_template('_style.css.j2', 'notice.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</style>\n</head>\n<body>\n<table role="presentation" class="page" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="frame" align="center">\n<table role="presentation" class="sheet" width="100%" cellpadding="0" cellspacing="0">\n<tr><td class="masthead masthead-failed">\n  <div class="brand">Stock Insights &middot; no report</div>\n  <div class="run">The data failed</div>\n  <div class="meta"><span class="badge badge-down">Data failed</span>&nbsp;'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'what'))
    yield '</div>\n</td></tr>\n\n<tr><td class="section">\n  <h2>What failed</h2>\n  <p><b>'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'headline'))
    yield '</b></p>\n'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'detail'):
        pass
        yield '<p class="small">'
        yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'detail'))
        yield '</p>'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'symbols_line'):
        pass
        yield '<p class="small">'
        yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'symbols_line'))
        yield '</p>'
    if environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'rows'):
        pass
        yield '  <div class="label">Symbol errors: '
        yield escape(environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'count_text'))
        yield '</div>\n  <table role="presentation" class="grid errors" width="100%" cellpadding="0" cellspacing="0">\n'
        for l_1_e in environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'rows'):
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
        if environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'hidden'):
            pass
            yield '<p class="small">&hellip; and '
            yield escape(environment.getattr(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'errors'), 'hidden'))
            yield ' more in the rejects file.</p>'
    yield '</td></tr>\n\n<tr><td class="section">\n  <h2>What to do</h2>\n'
    for l_1_action in environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'actions'):
        _loop_vars = {}
        pass
        yield '<p>'
        yield escape(environment.getattr(l_1_action, 'text'))
        if environment.getattr(l_1_action, 'code'):
            pass
            yield ' <code>'
            yield escape(environment.getattr(l_1_action, 'code'))
            yield '</code>'
        yield '</p>'
    l_1_action = missing
    yield '</td></tr>\n\n<tr><td class="footer">\n  File: <code>'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'input_uri'))
    yield '</code><br>\n  Correlation id: <code>'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'correlation_id'))
    yield '</code><br>\n  Notice id: <code>'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'notice_id'))
    yield '</code><br>\n  Sent <span class="nowrap">'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'created_at'))
    yield '</span> by the Stock Insights pipeline.\n</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n'

blocks = {}
debug_info = '7=13&9=15&19=22&24=24&25=26&26=31&27=36&28=39&30=41&31=45&34=58&40=64&44=77&45=79&46=81&47=83'