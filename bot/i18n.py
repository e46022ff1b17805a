"""The bot's interface strings, Chinese and English. Every reply comes from here.

Placeholders are filled with ``text(...)``; values are escaped for Telegram
HTML by the caller's choice of ``html=True`` (the default), so external text
(a chat title, a source name) never becomes markup.
"""

from __future__ import annotations

import html
from typing import Any

from digests.plurals import Plural

LANGUAGES = ("zh", "en")

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("start", "订阅每日摘要"),
        ("today", "现在发送最新一期"),
        ("search", "搜索文章，如 /search 数字化转型"),
        ("time", "设置你的送达时间，如 /time 07:30"),
        ("timezone", "设置时区，如 /timezone Asia/Shanghai"),
        ("sources", "选择摘要包含的来源"),
        ("alert", "关键词提醒：有新文章立即通知，如 /alert 港口"),
        ("mute", "屏蔽含某词的报道，如 /mute 广告"),
        ("follow", "关注某词，相关报道排在最前"),
        ("filters", "查看和删除提醒、屏蔽与关注"),
        ("lang", "界面语言：/lang zh 或 /lang en"),
        ("stop", "退订"),
        ("help", "使用说明"),
    ],
    "en": [
        ("start", "subscribe to the daily digest"),
        ("today", "send the latest edition now"),
        ("search", "search articles, e.g. /search harbor ferry"),
        ("time", "your delivery time, e.g. /time 07:30"),
        ("timezone", "your time zone, e.g. /timezone Europe/London"),
        ("sources", "choose the sources your digest includes"),
        ("alert", "keyword alert: new matching articles at once"),
        ("mute", "drop stories with a word from your digest"),
        ("follow", "put stories with a word first"),
        ("filters", "list and remove your alerts, mutes and follows"),
        ("lang", "interface language: /lang zh or /lang en"),
        ("stop", "unsubscribe"),
        ("help", "how to use this bot"),
    ],
}

# A reply with a count is a ``Plural``: its English forms agree with the number.
MESSAGES: dict[str, dict[str, str | Plural]] = {
    "zh": {
        "welcome": (
            "<b>你好！我是新闻摘要机器人。</b>\n"
            "我替你读新闻：每篇新文章自动摘要，每天整理成一期摘要按时送达。\n\n"
            "已订阅「{schedule}」。下一期：<b>{next}</b>（{zone}）。\n\n"
            "/today 现在就看最新一期 · /time 设置送达时间 · /sources 选择来源 · /help 更多"
        ),
        "welcome_back": "你已经订阅了「{schedule}」。下一期：<b>{next}</b>（{zone}）。",
        "unknown_schedule": "没有名为「{name}」的栏目，已为你订阅「{schedule}」。",
        "stopped": "已退订。想回来时发送 /start。",
        "not_subscribed": "你还没有订阅：请先发送 /start 订阅。",
        "no_edition": "还没有可以发送的摘要。下一期：{next}（{zone}）。",
        "time_set": "好的，每期将在 <b>{time}</b>（{zone}）送达。",
        "time_reset": "已恢复默认送达时间：{times}（{zone}）。",
        "time_current": "你的送达时间：<b>{times}</b>（{zone}，{whose}），下一期 {next}。\n改为其他时间：/time 07:30；恢复默认：/time default。",
        "time_own": "你设定的",
        "time_default": "栏目默认",
        "time_usage": "用法：/time 07:30（24 小时制），/time default 恢复默认。",
        "timezone_set": "时区已设为 <b>{zone}</b>。下一期：{next}。",
        "timezone_usage": "用法：/timezone Asia/Shanghai（IANA 时区名）。",
        "timezone_unknown": "不认识时区「{zone}」。请用 IANA 名称，例如 Asia/Shanghai、Europe/London。",
        "timezone_suggest": "不认识时区「{zone}」。你是不是想用 <b>{suggestion}</b>？发送 /timezone {suggestion} 即可。",
        "lang_set": "界面语言已设为中文。",
        "lang_usage": "用法：/lang zh 或 /lang en",
        "sources_title": "选择摘要包含的来源（点按切换）：",
        "sources_all": "全部来源",
        "sources_none": "还没有任何来源。",
        "sources_saved": "已保存。",
        "sources_empty_choice": "至少保留一个来源。",
        "button_stale": "这个按钮已过期，请重新发送 /sources。",
        "admins_only": "在群组里，只有管理员可以更改订阅。",
        "help": (
            "<b>新闻摘要机器人</b>\n"
            "每天按时送来一期摘要：新文章的要点、同一事件的多个来源、今日话题。\n\n"
            "{commands}\n\n"
            "在群组或频道中也可使用：把我加入后由管理员发送 /start。"
        ),
        "fallback": "不认识这个命令。发送 /today 查看最新一期，直接输入关键词搜索，或 /help 查看全部命令。",
        "search_usage": (
            "用法：/search 关键词（私聊中直接输入关键词也可以）。\n"
            '多个词须同时出现；"带引号的短语"；-排除；A OR B；source:来源名；since:7d 或 since:2026-01-01'
        ),
        "search_empty": "请给出要搜索的词。",
        "search_only_excluded": "只有排除的词：请再加一个要搜索的词。",
        "search_nothing_searchable": "这个查询里没有可以搜索的词（只有标点或表情）。",
        "search_past_end": "这一页已经超出结果的范围：请从第一页看起。",
        "search_none": "没有找到与「{query}」相关的文章。",
        "search_header": "🔎 「{query}」：{total} 篇（第 {page}/{pages} 页）",
        "search_fallback": "（按字面匹配找到）",
        "search_ignored": "已忽略：{what}",
        "alert_usage": "用法：/alert 关键词（与搜索相同的写法）。新文章一出现就推送给你。",
        "alert_set": "好的，有新文章匹配「{query}」时会通知你（每小时最多 {per_hour} 条）。",
        "alert_limit": "最多可设 {limit} 个提醒。先用 /filters 删除一个。",
        "filter_usage": '用法：/mute 词 或 /follow 词（可用"带引号的短语"）。',
        "muted": "已屏蔽「{word}」：以后的摘要和提醒里不再出现相关报道。",
        "followed": "已关注「{word}」：相关报道会排在摘要最前面。",
        "filter_limit": "最多 {limit} 个屏蔽或关注词。先用 /filters 删除一些。",
        "filter_exists": "「{word}」已经在列表里了。",
        "filters_title": "你的提醒、屏蔽和关注（点按删除）：",
        "filters_none": "还没有提醒、屏蔽或关注。试试 /alert、/mute、/follow。",
        "removed": "已删除。",
        "previous": "« 上一页",
        "next": "下一页 »",
        "error": "抱歉，出了点问题，请稍后再试。",
        "admin_only": "抱歉，这个命令只供机器人的管理员使用。",
        "admin_private": "管理命令请在与我的私聊中使用。",
        "admin_help": (
            "<b>管理命令</b>\n"
            "/addsource 网址 [名称] — 添加来源\n"
            "/removesource 编号或网址 — 移除来源\n"
            "/enablesource 编号 — 恢复已暂停的来源\n"
            "/sources — 来源状态\n"
            "/preview [排期] — 预览下一期（只发给你）\n"
            "/send [排期] — 立即生成并发送下一期\n"
            "/stats — 订阅者与最近一期的送达\n"
            "/schedules — 排期与下次时间\n"
            "/schedule 名称 07:30 [时区] · /schedule add 名称 07:30 [时区] · /schedule remove 名称\n"
            "/pause 排期 · /resume 排期\n"
            "/broadcast 文字 — 发给所有订阅者"
        ),
        "admin_failed": "没有完成：{reason}",
        "addsource_usage": "用法：/addsource 网址 [名称]",
        "removesource_usage": "用法：/removesource 编号、网址或名称（见 /sources）",
        "source_added": "已添加来源 #{id}：{name}（每 {every} 抓取一次），一分钟内开始抓取。",
        "source_removed": "已移除来源 #{id}：{name}（已存文章保留）。",
        "sources_admin_title": "<b>来源状态</b>",
        "source_line": "#{id} {name} · {state} · {articles} 篇 · 上次抓取 {checked}",
        "source_error": "    错误（{count} 次）：{error}",
        "source_ok": "正常",
        "source_failing": "出错",
        "source_waiting": "未抓取",
        "source_paused": "已暂停",
        "source_paused_why": "    暂停原因（{since}）：{reason}",
        "enablesource_usage": "用法：/enablesource 编号、网址或名称（见 /sources）",
        "source_enabled": "已恢复来源 #{id}：{name}（此前暂停原因：{reason}），下一轮即抓取。",
        "source_not_paused": "来源 #{id}：{name} 没有暂停，无需恢复。",
        "pause_notice": (
            "⏸ 来源 #{id} {name} 已暂停（{since}）：{reason}\n"
            "恢复：/enablesource {id}（或命令行 newsdigest sources enable {id}）"
        ),
        "preview_header": "预览（只发给你）：{schedule} {date} {slot}，{items} 条。",
        "preview_empty": "「{schedule}」下一期目前没有新内容。",
        "sent_now": "已生成「{schedule}」{date} {slot}（{items} 条），现在发送给 {subscribers} 位订阅者（自定送达时间的按各自时间）。",
        "sent_already": "「{schedule}」{date} {slot} 已经生成过；未发出的部分会继续发送。",
        "stats": "<b>订阅者</b>：活跃 {active}，屏蔽或移除机器人 {blocked}，退订 {stopped}",
        "stats_edition": "<b>最近一期</b> #{id}（{schedule} {date} {slot}）：已发送 {sent}，失败 {failed}，待发送 {pending}，未知 {unknown}，跳过 {skipped}；用时 {duration}",
        "stats_withheld": "另有 {withheld} 条因同一期前面的部分发送失败而未发出。",
        "stats_no_edition": "还没有生成过任何一期。",
        "schedules_title": "<b>排期</b>",
        "schedule_line": "「{name}」{times}（{zone}）· {state}",
        "schedule_next": "下一期 {next}",
        "schedule_paused": "已暂停",
        "schedule_set": "「{name}」现在是 {times}（{zone}）。下一期：{next}。",
        "schedule_removed": "已删除排期「{name}」：不再生成新一期（已有的期和订阅者保留）。",
        "schedule_usage": "用法：/schedule 名称 07:30[,18:00] [时区] · /schedule add 名称 07:30 [时区] · /schedule remove 名称",
        "pause_usage": "用法：/pause 排期名称 或 /resume 排期名称",
        "paused": "已暂停「{name}」：恢复之前不生成新一期。",
        "resumed": "已恢复「{name}」。下一期：{next}（{zone}）。",
        "broadcast_usage": "用法：/broadcast 要发给所有订阅者的文字",
        "broadcast_queued": "已排队发送给 {count} 位订阅者。",
    },
    "en": {
        "welcome": (
            "<b>Hello! I am the news digest bot.</b>\n"
            "I read the news for you: every new article is summarized, and each "
            "day's best stories arrive as one digest, on time.\n\n"
            "Subscribed to “{schedule}”. Next edition: <b>{next}</b> ({zone}).\n\n"
            "/today latest edition now · /time your delivery time · "
            "/sources choose sources · /help more"
        ),
        "welcome_back": "You are already subscribed to “{schedule}”. Next edition: <b>{next}</b> ({zone}).",
        "unknown_schedule": "There is no schedule “{name}”; you are subscribed to “{schedule}”.",
        "stopped": "Unsubscribed. Send /start to come back.",
        "not_subscribed": "You are not subscribed yet. Send /start to begin.",
        "no_edition": "There is no edition to send yet. Next one: {next} ({zone}).",
        "time_set": "Done: each edition will arrive at <b>{time}</b> ({zone}).",
        "time_reset": "Back to the default delivery time: {times} ({zone}).",
        "time_current": "Your delivery time: <b>{times}</b> ({zone}, {whose}); next edition {next}.\nTo change it: /time 07:30; back to the default: /time default.",
        "time_own": "your own",
        "time_default": "the schedule's default",
        "time_usage": "Usage: /time 07:30 (24-hour clock), or /time default.",
        "timezone_set": "Time zone set to <b>{zone}</b>. Next edition: {next}.",
        "timezone_usage": "Usage: /timezone Europe/London (an IANA time zone name).",
        "timezone_unknown": "Unknown time zone “{zone}”. Use an IANA name such as Asia/Shanghai or Europe/London.",
        "timezone_suggest": "Unknown time zone “{zone}”. Did you mean <b>{suggestion}</b>? Send /timezone {suggestion}.",
        "lang_set": "Interface language set to English.",
        "lang_usage": "Usage: /lang zh or /lang en",
        "sources_title": "Choose the sources your digest includes (tap to toggle):",
        "sources_all": "All sources",
        "sources_none": "There are no sources yet.",
        "sources_saved": "Saved.",
        "sources_empty_choice": "Keep at least one source.",
        "button_stale": "This button has expired; send /sources again.",
        "admins_only": "In groups, only administrators can change the subscription.",
        "help": (
            "<b>News digest bot</b>\n"
            "One digest a day, on time: the gist of every new article, each event "
            "with all its sources, the topics of the day.\n\n"
            "{commands}\n\n"
            "Works in groups and channels too: add me, then an administrator sends /start."
        ),
        "fallback": "I don't know that command. Send /today for the latest edition, type words to search, or /help for all commands.",
        "search_usage": (
            "Usage: /search words (in a private chat, just type them).\n"
            'All words must match; "a quoted phrase"; -exclude; A OR B; source:NAME; since:7d or since:2026-01-01'
        ),
        "search_empty": "Give a word to search for.",
        "search_only_excluded": "Only excluded words: add a word to search for.",
        "search_nothing_searchable": "This query has nothing to search for (only punctuation or emoji).",
        "search_past_end": "That page is past the last result: start again from the first page.",
        "search_none": "No articles found for “{query}”.",
        "search_header": "🔎 “{query}”: {total} found (page {page}/{pages})",
        "search_fallback": "(found by matching the characters)",
        "search_ignored": "Ignored: {what}",
        "alert_usage": "Usage: /alert words (written as for search). New matching articles are pushed to you at once.",
        "alert_set": "Done: you will be told when a new article matches “{query}” (at most {per_hour} an hour).",
        "alert_limit": Plural(
            "At most {limit} alerts. Remove one with /filters first.",
            one="At most {limit} alert. Remove it with /filters first.",
            by="limit",
        ),
        "filter_usage": 'Usage: /mute word or /follow word ("quoted phrases" work too).',
        "muted": "Muted “{word}”: stories about it are left out of your digests and alerts.",
        "followed": "Following “{word}”: stories about it come first in your digest.",
        "filter_limit": Plural(
            "At most {limit} muted or followed words. Remove some with /filters first.",
            one="At most {limit} muted or followed word. Remove it with /filters first.",
            by="limit",
        ),
        "filter_exists": "“{word}” is already on your list.",
        "filters_title": "Your alerts, mutes and follows (tap to remove):",
        "filters_none": "No alerts, mutes or follows yet. Try /alert, /mute, /follow.",
        "removed": "Removed.",
        "previous": "« Previous",
        "next": "Next »",
        "error": "Sorry, something went wrong. Please try again later.",
        "admin_only": "Sorry, this command is only for the bot's operators.",
        "admin_private": "Use admin commands in a private chat with me.",
        "admin_help": (
            "<b>Admin commands</b>\n"
            "/addsource URL [name] — add a source\n"
            "/removesource ID or URL — remove a source\n"
            "/enablesource ID — resume a paused source\n"
            "/sources — the sources' state\n"
            "/preview [schedule] — the next edition, sent only to you\n"
            "/send [schedule] — build the next edition and send it now\n"
            "/stats — subscribers and the last edition's delivery\n"
            "/schedules — schedules and their next run\n"
            "/schedule NAME 07:30 [zone] · /schedule add NAME 07:30 [zone] · /schedule remove NAME\n"
            "/pause SCHEDULE · /resume SCHEDULE\n"
            "/broadcast TEXT — a message to every subscriber"
        ),
        "admin_failed": "Not done: {reason}",
        "addsource_usage": "Usage: /addsource URL [name]",
        "removesource_usage": "Usage: /removesource ID, URL or name (see /sources)",
        "source_added": "Added source #{id}: {name} (fetched every {every}); the first fetch is within a minute.",
        "source_removed": "Removed source #{id}: {name} (its stored articles are kept).",
        "sources_admin_title": "<b>Sources</b>",
        "source_line": "#{id} {name} · {state} · {articles} articles · last fetch {checked}",
        "source_error": "    error ({count}x): {error}",
        "source_ok": "ok",
        "source_failing": "failing",
        "source_waiting": "not fetched yet",
        "source_paused": "paused",
        "source_paused_why": "    paused ({since}): {reason}",
        "enablesource_usage": "Usage: /enablesource ID, URL or name (see /sources)",
        "source_enabled": "Resumed source #{id}: {name} (it was paused: {reason}); it is fetched in the next round.",
        "source_not_paused": "Source #{id}: {name} is not paused; nothing to resume.",
        "pause_notice": (
            "⏸ Source #{id} {name} is paused ({since}): {reason}\n"
            "Resume it with /enablesource {id} (or newsdigest sources enable {id})."
        ),
        "preview_header": "Preview (sent only to you): {schedule} {date} {slot}, {items} items.",
        "preview_empty": "Nothing new for the next edition of “{schedule}” yet.",
        "sent_now": "Built “{schedule}” {date} {slot} ({items} items); sending it to {subscribers} subscribers now (those with their own delivery time get it then).",
        "sent_already": "“{schedule}” {date} {slot} was built already; whatever is unsent goes on being sent.",
        "stats": "<b>Subscribers</b>: {active} active, {blocked} blocked or removed the bot, {stopped} unsubscribed",
        "stats_edition": "<b>Last edition</b> #{id} ({schedule} {date} {slot}): sent {sent}, failed {failed}, pending {pending}, unknown {unknown}, skipped {skipped}; took {duration}",
        "stats_withheld": Plural(
            "{withheld} more were withheld because an earlier part of the same edition failed.",
            one="{withheld} more was withheld because an earlier part of the same edition failed.",
            by="withheld",
        ),
        "stats_no_edition": "No edition has been built yet.",
        "schedules_title": "<b>Schedules</b>",
        "schedule_line": "“{name}” {times} ({zone}) · {state}",
        "schedule_next": "next {next}",
        "schedule_paused": "paused",
        "schedule_set": "“{name}” is now {times} ({zone}). Next edition: {next}.",
        "schedule_removed": "Removed schedule “{name}”: no new editions (its editions and subscribers stay).",
        "schedule_usage": "Usage: /schedule NAME 07:30[,18:00] [zone] · /schedule add NAME 07:30 [zone] · /schedule remove NAME",
        "pause_usage": "Usage: /pause SCHEDULE or /resume SCHEDULE",
        "paused": "Paused “{name}”: no new editions until it is resumed.",
        "resumed": "Resumed “{name}”. Next edition: {next} ({zone}).",
        "broadcast_usage": "Usage: /broadcast the text to send to every subscriber",
        "broadcast_queued": Plural(
            "Queued for {count} subscribers.", one="Queued for {count} subscriber."
        ),
    },
}


class Html(str):
    """Text that is already Telegram HTML: ``text`` inserts it unescaped."""


def language_of(code: str | None, default: str) -> str:
    """The UI language for a Telegram ``language_code`` like "zh-hans" or "en-GB"."""
    if code:
        prefix = code.lower().split("-", 1)[0]
        if prefix in LANGUAGES:
            return prefix
    return default if default in LANGUAGES else "en"


def text(language: str, key: str, **values: Any) -> str:
    """The reply ``key`` in ``language``, with every value escaped for HTML."""
    template = MESSAGES.get(language, MESSAGES["en"])[key]
    if isinstance(template, Plural):
        template = template.choose(language, int(values[template.by]))
    return template.format(
        **{
            k: v if isinstance(v, Html) else html.escape(str(v), quote=False)
            for k, v in values.items()
        }
    )


def command_list(language: str) -> Html:
    return Html("\n".join(f"/{name} — {html.escape(about)}" for name, about in COMMANDS[language]))
