// Every string the console shows, per language. To add a language: copy the `en` table,
// translate it, add it to LANGS. A key missing in a table falls back to English, then to
// the key itself. {name} in a string is replaced by vars.name.

const en = {
  'app.name': 'Waihu',

  'action.cancel': 'Cancel',

  'nav.wallboard': 'Wallboard',
  'nav.campaigns': 'Campaigns',
  'nav.customers': 'Customers',
  'nav.agent': 'Desktop',
  'nav.logout': 'Log out',
  'nav.language': 'Language',

  'role.admin': 'admin',
  'role.supervisor': 'supervisor',
  'role.agent': 'agent',
  'role.auditor': 'auditor',
  'role.backup-operator': 'backup operator',

  'login.subtitle': 'Outbound call center console',
  'login.user': 'User name',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.wrong': 'Wrong user name or password.',
  'login.slow_down': 'Too many attempts: wait a second and try again.',
  'login.no_page': 'Logged in, but the console has no page for the role {role}.',

  'forbidden.title': 'Not allowed',
  'forbidden.text': 'Your role may not open this page.',
  'forbidden.home': 'Back to my page',

  'error.network': 'The server cannot be reached; retrying.',
  'error.rate_limited': 'Too many requests: slow down.',
  'error.unknown': 'Something went wrong.',

  'live.connecting': 'connecting…',
  'live.live': '● live',
  'live.down': 'reconnecting…',

  'state.offline': 'offline',
  'state.online': 'not ready',
  'state.ready': 'ready',
  'state.reserved': 'ringing',
  'state.on_call': 'on call',
  'state.wrap_up': 'wrap-up',
  'state.break': 'break',

  'reason.rest': 'rest',
  'reason.lunch': 'lunch',
  'reason.training': 'training',
  'reason.meeting': 'meeting',

  'wallboard.agents': 'Agents',
  'wallboard.no_agents': 'No agents.',
  'wallboard.calls': 'calls',
  'wallboard.connects': 'connects',
  'wallboard.occupancy': 'occupancy',
  'wallboard.calls_today': 'calls today',
  'wallboard.connects_today': 'connects today',
  'wallboard.abandon_rate': 'abandoned today',
  'wallboard.campaign': 'campaign {id}',
  'wallboard.no_phone': 'no phone',

  'campaigns.title': 'Campaigns',
  'campaigns.new': 'New campaign',
  'campaigns.name': 'Name',
  'campaigns.mode': 'Mode',
  'campaigns.state': 'State',
  'campaigns.leads': 'Leads',
  'campaigns.window': 'Window',
  'campaigns.none': 'No campaigns yet.',
  'campaigns.agents': 'Agents (user names, comma separated)',
  'campaigns.filter': 'Customers (filter; empty: all)',
  'campaigns.window_start': 'Calls from',
  'campaigns.window_end': 'until',
  'campaigns.start_now': 'Start dialing now',
  'campaigns.create': 'Create',
  'campaigns.pause': 'Pause',
  'campaigns.resume': 'Resume',
  'campaigns.calls': 'Calls',
  'campaigns.nodes': 'Nodes',
  'campaigns.dialing': 'dialing',
  'campaigns.agents_n': 'agents: {n}',
  'campaigns.node': 'node {id}',
  'campaigns.all_customers': 'all customers',
  'campaigns.created': 'created',
  'campaigns.created_note': 'Campaign {name} created: {n} leads.',

  'campaign_state.running': 'running',
  'campaign_state.paused': 'paused',

  'mode.progressive': 'progressive',
  'mode.predictive': 'predictive',
  'mode.preview': 'preview',

  'lead.done': 'done',
  'lead.dialing': 'dialing',
  'lead.ready': 'to call',
  'lead.retry_later': 'retry later',

  'calls.attempts': 'Calls',
  'calls.answered': 'Answered',
  'calls.no_answer': 'No answer',
  'calls.machine': 'Machine',
  'calls.abandoned': 'Abandoned',
  'calls.abandon_rate': 'Abandon rate',

  'customers.title': 'Customers',
  'customers.search': 'Search',
  'customers.more': 'More',
  'customers.filter_hint': 'tag:hot AND NOT tag:closed AND last_contact < -30d',
  'customers.name': 'Name',
  'customers.phone': 'Phone',
  'customers.tags': 'Tags',
  'customers.status': 'Status',
  'customers.owner': 'Owner',
  'customers.last_contact': 'Last contact',
  'customers.none': 'No customer matches.',
  'customers.count': '{n} customers',

  'desk.my_state': 'My state',
  'desk.go_ready': 'Ready',
  'desk.go_online': 'Not ready',
  'desk.go_break': 'Break',
  'desk.phone_on': 'Softphone registered.',
  'desk.phone_off': 'Softphone not registered: start it to take calls.',
  'desk.today': 'Today',
  'desk.talk_time': 'talk time',
  'desk.aht': 'average handling',
  'desk.preview': 'Next lead',
  'desk.call_now': 'Call now',
  'desk.skip': 'Skip',
  'desk.no_lead': 'No lead to preview now.',
  'desk.offer_left': 'offer held for',
  'desk.call': 'Call',
  'desk.waiting': 'Waiting for a call…',
  'desk.no_call': 'No call.',
  'desk.no_customer': 'Customer unknown.',
  'desk.campaign': 'Campaign',
  'desk.address': 'Address',
  'desk.disposition': 'Disposition',
  'desk.notes': 'Notes',
  'desk.notes_too_long': 'The notes are too long (2000 bytes: about 660 Chinese characters).',
  'desk.callback_at': 'Call back at',
  'desk.save': 'Save and finish',
  'desk.saved': 'Disposition saved.',
  'desk.wrap_left': 'Ready again automatically in',
  'desk.recent': 'My recent calls',
  'desk.time': 'Time',
  'desk.result': 'Result',
  'desk.talk': 'Talk',

  'dispo.sale': 'sale',
  'dispo.not_interested': 'not interested',
  'dispo.callback': 'call back',
  'dispo.wrong_number': 'wrong number',
  'dispo.other': 'other',
};

const zhCN = {
  'app.name': '外呼',

  'action.cancel': '取消',

  'nav.wallboard': '监控大屏',
  'nav.campaigns': '外呼任务',
  'nav.customers': '客户',
  'nav.agent': '坐席工作台',
  'nav.logout': '退出',
  'nav.language': '语言',

  'role.admin': '管理员',
  'role.supervisor': '班长',
  'role.agent': '坐席',
  'role.auditor': '审计员',
  'role.backup-operator': '备份操作员',

  'login.subtitle': '外呼中心控制台',
  'login.user': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.wrong': '用户名或密码错误。',
  'login.slow_down': '尝试次数过多，请稍后再试。',
  'login.no_page': '已登录，但控制台没有适合角色 {role} 的页面。',

  'forbidden.title': '无权访问',
  'forbidden.text': '您的角色不能打开此页面。',
  'forbidden.home': '返回我的页面',

  'error.network': '无法连接服务器，正在重试。',
  'error.rate_limited': '请求过于频繁，请稍候。',
  'error.unknown': '出错了。',

  'live.connecting': '连接中…',
  'live.live': '● 实时',
  'live.down': '重新连接中…',

  'state.offline': '离线',
  'state.online': '未就绪',
  'state.ready': '就绪',
  'state.reserved': '振铃',
  'state.on_call': '通话中',
  'state.wrap_up': '话后处理',
  'state.break': '小休',

  'reason.rest': '休息',
  'reason.lunch': '午餐',
  'reason.training': '培训',
  'reason.meeting': '会议',

  'wallboard.agents': '坐席',
  'wallboard.no_agents': '没有坐席。',
  'wallboard.calls': '呼叫',
  'wallboard.connects': '接通',
  'wallboard.occupancy': '占用率',
  'wallboard.calls_today': '今日呼叫',
  'wallboard.connects_today': '今日接通',
  'wallboard.abandon_rate': '今日放弃率',
  'wallboard.campaign': '任务 {id}',
  'wallboard.no_phone': '未注册',

  'campaigns.title': '外呼任务',
  'campaigns.new': '新建任务',
  'campaigns.name': '名称',
  'campaigns.mode': '模式',
  'campaigns.state': '状态',
  'campaigns.leads': '名单',
  'campaigns.window': '时段',
  'campaigns.none': '还没有外呼任务。',
  'campaigns.agents': '坐席（用户名，用逗号分隔）',
  'campaigns.filter': '客户（筛选条件，留空为全部）',
  'campaigns.window_start': '呼叫时间从',
  'campaigns.window_end': '到',
  'campaigns.start_now': '立即开始外呼',
  'campaigns.create': '创建',
  'campaigns.pause': '暂停',
  'campaigns.resume': '恢复',
  'campaigns.calls': '呼叫',
  'campaigns.nodes': '节点',
  'campaigns.dialing': '外呼中',
  'campaigns.agents_n': '{n} 个坐席',
  'campaigns.node': '节点 {id}',
  'campaigns.all_customers': '全部客户',
  'campaigns.created': '创建于',
  'campaigns.created_note': '任务 {name} 已创建：{n} 条名单。',

  'campaign_state.running': '进行中',
  'campaign_state.paused': '已暂停',

  'mode.progressive': '渐进式',
  'mode.predictive': '预测式',
  'mode.preview': '预览式',

  'lead.done': '已完成',
  'lead.dialing': '呼叫中',
  'lead.ready': '待呼叫',
  'lead.retry_later': '稍后重试',

  'calls.attempts': '呼叫',
  'calls.answered': '接通',
  'calls.no_answer': '无人接听',
  'calls.machine': '答录机',
  'calls.abandoned': '放弃',
  'calls.abandon_rate': '放弃率',

  'customers.title': '客户',
  'customers.search': '搜索',
  'customers.more': '更多',
  'customers.name': '姓名',
  'customers.phone': '电话',
  'customers.tags': '标签',
  'customers.status': '状态',
  'customers.owner': '负责人',
  'customers.last_contact': '最近联系',
  'customers.none': '没有匹配的客户。',
  'customers.count': '共 {n} 位客户',

  'desk.my_state': '我的状态',
  'desk.go_ready': '就绪',
  'desk.go_online': '未就绪',
  'desk.go_break': '小休',
  'desk.phone_on': '软电话已注册。',
  'desk.phone_off': '软电话未注册：请启动软电话以接听来电。',
  'desk.today': '今日',
  'desk.talk_time': '通话时长',
  'desk.aht': '平均处理时长',
  'desk.preview': '下一条名单',
  'desk.call_now': '立即呼叫',
  'desk.skip': '跳过',
  'desk.no_lead': '暂时没有可预览的名单。',
  'desk.offer_left': '名单保留',
  'desk.call': '当前通话',
  'desk.waiting': '等待来电…',
  'desk.no_call': '没有通话。',
  'desk.no_customer': '未知客户。',
  'desk.campaign': '任务',
  'desk.address': '地址',
  'desk.disposition': '通话小结',
  'desk.notes': '备注',
  'desk.notes_too_long': '备注太长（最多约 660 个汉字）。',
  'desk.callback_at': '回拨时间',
  'desk.save': '保存并结束',
  'desk.saved': '小结已保存。',
  'desk.wrap_left': '自动就绪倒计时',
  'desk.recent': '我的最近通话',
  'desk.time': '时间',
  'desk.result': '结果',
  'desk.talk': '通话',

  'dispo.sale': '成交',
  'dispo.not_interested': '不感兴趣',
  'dispo.callback': '预约回拨',
  'dispo.wrong_number': '号码错误',
  'dispo.other': '其他',
};

const TABLES = { en, 'zh-CN': zhCN };
export const LANGS = [{ code: 'zh-CN', name: '中文' }, { code: 'en', name: 'English' }];
const KEY = 'waihu.lang';

// The user's choice, else the browser's language (any zh-* reads Chinese), else English.
function pick() {
  const chosen = localStorage.getItem(KEY);
  if (chosen && TABLES[chosen]) return chosen;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}
const current = pick();

export function lang() {
  return current;
}

// Takes effect on the next page load.
export function setLang(code) {
  if (TABLES[code]) localStorage.setItem(KEY, code);
}

export function t(key, vars) {
  const s = TABLES[current][key] ?? en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

// Translates the page's static text: data-i18n="key" (text), data-i18n-placeholder.
export function applyI18n(root) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}
