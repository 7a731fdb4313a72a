// The page's words: one message table per language, and the few functions that use it.
// Loaded before app.js (both `defer`), it exposes `window.I18N`.
//
// Adding a string: put the key in `en` and in `zh-CN` below (same placeholders), then either
//   - static markup: <span data-i18n="key"></span>, or for attributes
//     data-i18n-attr="placeholder:key aria-label:other.key";
//   - from app.js: I18N.t("key", { count: 3 }) for a string, or I18N.bind(node, "key", params)
//     to set a node's text and keep it translated when the language is switched.
// Placeholders are {name}; numbers are formatted for the locale (Intl.NumberFormat), and a value
// written { $date: iso } as a date (Intl.DateTimeFormat). A message that depends on a count is an
// object of Intl.PluralRules categories ({ one, other }); `other` is the fallback. Markup inside a
// message is a slot: <p data-i18n="token.explain"><code data-slot="code">API_TOKEN</code></p>
// puts the <code> element where the message says {code}. A key missing from zh-CN falls back to
// en. Text from the API (titles, errors, article bodies) is data and is never translated.
"use strict";

(() => {
  const STORAGE_KEY = "trustagency.locale";
  const DEFAULT = "en";

  const MESSAGES = {
    en: {
      "page.title": "TrustAgency · Article generation",
      "brand.name": "TrustAgency",
      "brand.tagline": "Article generation",
      "lang.switch": "中文",
      "lang.switchTitle": "Show this page in Simplified Chinese",
      "token.button": "API token",
      "compose.heading": "New batch",
      "form.titles": "Titles {hint}",
      "form.titlesHint": "one per line",
      "form.placeholder": "How to choose a savings account\nIndex funds explained\nWhat is a credit score?",
      "form.category": "Category",
      "category.guide": "Guide",
      "category.review": "Review",
      "category.news": "News",
      "category.comparison": "Comparison",
      "form.noTitles": "No titles yet",
      "form.count": { one: "{count} title · {count} article", other: "{count} titles · {count} articles" },
      "form.generate": "Generate",
      "form.language": "Language",
      "form.languageHint": "A BCP 47 tag such as en or zh-CN, or auto: each title's own language",
      "language.auto": "auto (each title's language)",
      "form.badLanguage": "Language must be auto or a language tag such as en, zh-CN or ja.",
      "form.priority": "Priority",
      "form.priorityHint": "High overtakes normal batches; low runs when nothing else waits",
      "priority.high": "High",
      "priority.normal": "Normal",
      "priority.low": "Low",
      "form.owner": "Owner",
      "form.ownerPlaceholder": "your name or team",
      "form.ownerHint": "Who the batch is for; workers are shared fairly between owners",
      "form.badOwner": "Owner must be one line of at most 100 characters.",
      "batch.priority": "{priority} priority",
      "batch.priorityTitle": "Priority",
      "batch.owner": "for {owner}",
      "batch.ownerTitle": "Owner",
      "batch.quality": " · {regenerated} regenerated · {review} need review",
      "profiles.heading": "Category profiles",
      "profiles.show": "Show",
      "profiles.hide": "Hide",
      "profiles.explain": "How each category is written and checked. guide, review, news and default are built in until changed; a category without a profile uses default.",
      "profiles.category": "Category",
      "profiles.source": "Source",
      "profiles.builtin": "built-in",
      "profiles.stored": "version {version}",
      "profiles.words": "Words",
      "profiles.chars": "Characters (zh/ja/ko)",
      "profiles.sections": "Sections",
      "profiles.model": "Model",
      "profiles.modelDefault": "OPENAI_MODEL",
      "profiles.temperature": "Temperature",
      "profiles.temperatureDefault": "default",
      "profiles.duplicate": "Duplicate at",
      "profiles.instructions": "Instructions to the model",
      "profiles.minWords": "Min words",
      "profiles.maxWords": "Max words",
      "profiles.minChars": "Min characters",
      "profiles.maxChars": "Max characters",
      "profiles.edit": "Edit",
      "profiles.editing": "Profile: {category}",
      "profiles.creating": "New profile",
      "profiles.new": "New profile for another category",
      "profiles.save": "Save",
      "profiles.reset": "Back to default",
      "profiles.cancel": "Cancel",
      "profiles.saved": "Profile {category} saved (version {version}).",
      "profiles.removed": "Profile {category} is back to its default.",
      "profiles.range": "{low}–{high}",
      "form.submitting": "Submitting…",
      "form.tooMany": "Too many titles: {count} (at most {max} per batch).",
      "form.titleTooLong": "Title {n} is {length} characters long (at most {max}).",
      "form.titleControl": "Title {n} contains control characters.",
      "form.badCategory": "Category must be a short slug: letters a-z, digits, '-' or '_' (for example guide).",
      "form.needTitle": "Add at least one title, one per line.",
      "form.fieldError": "{field}: {message}",
      "toast.submitted": { one: "Batch of {count} submitted.", other: "Batch of {count} submitted." },
      "batches.heading": "Batches",
      "batches.total": "{count} in all",
      "batches.empty": "No batches yet. Paste some titles above and press Generate.",
      "batches.more": "Show older batches",
      "batch.titles": { one: "{count} title", other: "{count} titles" },
      "batch.progressLabel": "Progress of batch {id}",
      "batch.progressText": "{percent} ({done} of {total} done)",
      "batch.counts": "{done} of {total} done · {completed} completed · {failed} failed",
      "batch.countsCancelled": " · {cancelled} cancelled",
      "batch.eta": "about {duration} left",
      "batch.elapsedTitle": "Elapsed time",
      "batch.cancel": "Cancel",
      "batch.confirmCancel": "Confirm cancel",
      "batch.retry": "Retry failed",
      "batch.showItems": "Show items",
      "batch.hideItems": "Hide items",
      "batch.cost": "{cost} · {tokens} tokens",
      "batch.costLeft": " · about {cost} left",
      "batch.costUnknown": "cost unknown: no price for the model",
      "batch.costTitle": "Cost so far (at the price table's rates)",
      "batch.paused": "Paused: {reason}",
      "batch.pausedUntil": "Paused: {reason} (resumes {time})",
      "batch.resume": "Resume",
      "batch.lane": "Batch API",
      "batch.providerBatch": "{id}: {status}, {completed} of {total} answered",
      "toast.resumed": "Batch resumed.",
      "status.paused": "paused",
      "status.pending": "pending",
      "status.processing": "processing",
      "status.retrying": "retrying",
      "status.completed": "completed",
      "status.partially_completed": "partially completed",
      "status.failed": "failed",
      "status.cancelled": "cancelled",
      "status.draft": "draft",
      "status.needs_review": "needs review",
      "status.approved": "approved",
      "status.rejected": "rejected",
      "status.published": "published",
      "items.number": "#",
      "items.title": "Title",
      "items.status": "Status",
      "items.attempts": "Attempts",
      "items.error": "Error",
      "items.read": "Read",
      "toast.cancelling": "Cancelling: running articles stop within seconds.",
      "toast.retried": "Failed items queued again.",
      "toast.copied": "Markdown copied.",
      "reader.meta": {
        one: "{category} · {provider} / {model} · {tokens} token · {created}",
        other: "{category} · {provider} / {model} · {tokens} tokens · {created}",
      },
      "reader.copy": "Copy Markdown",
      "reader.download": "Download .md",
      "reader.close": "Close",
      "token.heading": "API token",
      "token.explain": "This server needs its {code}. It is kept in this browser only.",
      "token.label": "Token",
      "token.save": "Save",
      "token.refused": "The API refused that token. Please check it.",
      "api.unreachableShort": "API unreachable",
      "api.unreachable": "The API is not reachable. Is it running?",
      // the library, the reader's review, editor and history (library.js, reader.js)
      "tabs.label": "Views",
      "tabs.batches": "Batches",
      "tabs.library": "Library",
      "batch.inLibrary": "In library",
      "batch.export": "Export ZIP",
      "toast.downloaded": "Downloaded {name}",
      "library.heading": "Article library",
      "library.total": { one: "{count} article", other: "{count} articles" },
      "library.search": "Search",
      "library.searchPlaceholder": "Words in the title or text, e.g. 比特币 or \"index funds\"",
      "library.status": "Status",
      "library.language": "Language",
      "library.batch": "Batch id",
      "library.since": "Created from",
      "library.until": "Created until",
      "library.sort": "Order",
      "library.any": "Any",
      "language.en": "English",
      "language.zh": "Chinese",
      "sort.newest": "Newest first",
      "sort.oldest": "Oldest first",
      "sort.updated": "Recently changed",
      "sort.titleAz": "Title A–Z",
      "sort.titleZa": "Title Z–A",
      "library.clear": "Clear filters",
      "library.export": "Export ZIP",
      "library.exportTitle": "Download the articles these filters select: Markdown files with YAML front matter and a manifest.csv",
      "library.empty": "No articles match these filters.",
      "library.more": "Show more",
      "library.badDates": "“Created until” must not be before “Created from”.",
      "library.col.title": "Title",
      "library.col.category": "Category",
      "library.col.status": "Status",
      "library.col.language": "Language",
      "library.col.version": "Version",
      "library.col.created": "Created",
      "library.col.updated": "Changed",
      "reader.edit": "Edit",
      "reader.history": "History",
      "reader.version": "Version {version}",
      "reader.versionChanged": "Version {version} · changed {date}",
      "reader.reviewedBy": "Reviewed by {reviewer} · {date}",
      "reader.reviewed": "Reviewed {date}",
      "reader.notYet": "This server cannot do that yet ({status}).",
      "review.reviewer": "Reviewer",
      "review.reviewerPlaceholder": "Your name",
      "review.note": "Note",
      "review.notePlaceholder": "Optional; kept with the decision",
      "review.approve": "Approve",
      "review.reject": "Reject",
      "review.publish": "Publish",
      "review.regenerate": "Regenerate…",
      "toast.approve": "Approved.",
      "toast.reject": "Rejected.",
      "toast.publish": "Published.",
      "toast.saved": "Saved as version {version}.",
      "regenerate.feedback": "Feedback for the writer",
      "regenerate.placeholder": "e.g. shorter, add a table of fees",
      "regenerate.submit": "Regenerate",
      "regenerate.cancel": "Cancel",
      "regenerate.running": "Regenerating… the new version appears here when it is written.",
      "regenerate.done": "Version {version} is ready.",
      "regenerate.doneToast": "Version {version} of “{title}” is ready.",
      "regenerate.slow": "Still no new version after 10 minutes: see the batch for the item's state.",
      "editor.title": "Title",
      "editor.content": "Markdown",
      "editor.preview": "Preview",
      "editor.note": "Note about this change",
      "editor.save": "Save",
      "editor.saving": "Saving…",
      "editor.cancel": "Cancel",
      "editor.unchanged": "Nothing changed yet.",
      "editor.needTitle": "The title must not be empty.",
      "editor.stale": "Someone saved version {version} since you opened this one. Your text is still here: copy it, cancel, and edit the new version.",
      "editor.unsaved": "Unsaved changes: save or cancel them first.",
      "history.heading": "Versions",
      "history.empty": "No versions recorded.",
      "history.entry": "Version {version}",
      "history.by": "by {author}",
      "history.current": "current",
      "history.show": "Show",
      "history.editFrom": "Edit from this",
      "history.showing": "Showing version {version}, not the current one.",
      "history.back": "Back to the current version",
      "source.generated": "generated",
      "source.edit": "edited",
      "source.regenerated": "regenerated",
      // --- webhooks ---
      "webhooks.heading": "Webhooks",
      "webhooks.explain": "Signed POSTs (Standard Webhooks) to other systems when a batch ends or pauses and when an article needs review, is approved, published or unpublished. Admins only.",
      "webhooks.url": "URL",
      "webhooks.events": "Events",
      "webhooks.state": "State",
      "webhooks.description": "Description",
      "webhooks.enabled": "enabled",
      "webhooks.failing": "enabled, failing",
      "webhooks.disabled": "disabled",
      "webhooks.disabledWhy": "disabled: {reason}",
      "webhooks.none": "No subscriptions yet.",
      "webhooks.log": "Deliveries",
      "webhooks.test": "Test",
      "webhooks.testSent": "A webhook.test ping is on its way.",
      "webhooks.enable": "Enable",
      "webhooks.disable": "Disable",
      "webhooks.rotate": "New secret",
      "webhooks.delete": "Delete",
      "webhooks.confirmDelete": "Delete? Click again",
      "webhooks.deleted": "Subscription deleted.",
      "webhooks.secretOnce": "The signing secret, shown this once: store it where the receiver verifies signatures.",
      "webhooks.secretDone": "I stored it",
      "webhooks.new": "New subscription",
      "webhooks.create": "Subscribe",
      "webhooks.logTitle": { one: "{url}: 1 delivery", other: "{url}: {count} deliveries" },
      "webhooks.eventId": "Event id",
      "webhooks.type": "Type",
      "webhooks.attempts": "Attempts",
      "webhooks.answer": "Last answer",
      "webhooks.detail": "Error or response",
      "webhooks.next": "Next attempt",
      "webhooks.at": "{at}",
      "webhooks.redeliver": "Redeliver",
      "webhooks.redelivered": "Sent again.",
      "webhooks.refresh": "Refresh",
      "webhooks.closeLog": "Close",
      "webhooks.status.pending": "pending",
      "webhooks.status.succeeded": "delivered",
      "webhooks.status.failed": "failed",
      // --- accounts ---
      "accounts.tab": "Accounts",
      "accounts.logout": "Log out",
      "accounts.whoami": "{name} · {role}",
      "accounts.loginHeading": "Sign in",
      "accounts.name": "Name",
      "accounts.password": "Password",
      "accounts.login": "Sign in",
      "accounts.useToken": "Use an API token instead",
      "accounts.needBoth": "Enter your name and password.",
      "accounts.wrong": "Wrong name or password.",
      "accounts.locked": "Too many failed attempts. Try again in {seconds} s.",
      "accounts.failed": "Sign-in failed: {detail}",
      "accounts.unreachable": "The API cannot be reached.",
      "accounts.usersHeading": "Users",
      "accounts.displayName": "Display name",
      "accounts.role": "Role",
      "accounts.state": "State",
      "accounts.active": "active",
      "accounts.disabled": "disabled",
      "accounts.enable": "Enable",
      "accounts.disable": "Disable",
      "accounts.passwordHint": "12+ characters; empty: tokens only",
      "accounts.createUser": "Create user",
      "accounts.created": "Created {name}.",
      "accounts.saved": "Saved.",
      "accounts.tokensHeading": "API tokens",
      "accounts.tokensOf": "User",
      "accounts.tokensOfHint": "empty: your own",
      "accounts.tokenName": "Token name",
      "accounts.tokenDays": "Days",
      "accounts.showTokens": "Show tokens",
      "accounts.createToken": "Create token",
      "accounts.newToken": "New token (shown once, copy it now): {token}",
      "accounts.prefix": "Prefix",
      "accounts.expires": "Expires",
      "accounts.lastUsed": "Last used",
      "accounts.live": "live",
      "accounts.revoked": "revoked or expired",
      "accounts.revoke": "Revoke",
      "accounts.never": "never",
      "accounts.date": "{when}",
      "role.viewer": "viewer",
      "role.editor": "editor",
      "role.reviewer": "reviewer",
      "role.admin": "admin",
      // --- audit trail ---
      "audit.heading": "Audit trail",
      "audit.show": "Show",
      "audit.hide": "Hide",
      "audit.explain": "Every change made through the API, newest first: who, what, the result and from where. Admins only; nothing here can be edited.",
      "audit.user": "User",
      "audit.actionFilter": "Action",
      "audit.actionPlaceholder": "approve_article",
      "audit.objectType": "Object type",
      "audit.objectTypePlaceholder": "article, batch, profile…",
      "audit.objectId": "Object id",
      "audit.search": "Search",
      "audit.export": "Export CSV",
      "audit.when": "When",
      "audit.who": "Who",
      "audit.what": "Action",
      "audit.object": "Object",
      "audit.result": "Result",
      "audit.changes": "Changes",
      "audit.from": "From",
      "audit.empty": "No entries match.",
      "audit.more": "Older entries",
      "audit.ok": "done",
      "audit.failed": "failed ({status})",
      "audit.by": "by {actor}",
      "audit.versions": "version {before} → {after}",
      "audit.fields": "fields: {fields}",
      "audit.activity": "Activity",
      "audit.activityHeading": "Activity",
      "audit.activityEmpty": "Nothing has been done to this article through the API yet.",
      "audit.action.approve_article": "Approved",
      "audit.action.reject_article": "Rejected",
      "audit.action.publish_article": "Published",
      "audit.action.edit_article": "Edited",
      "audit.action.regenerate_article": "Regeneration requested",
      // --- seo and publishing ---
      "seo.heading": "SEO and publishing",
      "seo.slug": "Slug (URL)",
      "seo.title": "SEO title",
      "seo.meta": "Meta description",
      "seo.excerpt": "Excerpt",
      "seo.tags": "Tags",
      "seo.tagsPlaceholder": "comma-separated",
      "seo.preview": "Search result preview",
      "seo.count": "{length} / {low}–{high}",
      "seo.derived": "{field}: derived (the model gave none); check it",
      "seo.save": "Save SEO fields",
      "seo.saved": "SEO fields saved as a new version.",
      "seo.nothing": "Nothing changed.",
      "publish.at": "Publish at",
      "publish.schedule": "Schedule",
      "publish.unpublish": "Unpublish",
      "publish.live": "Live: version {version}",
      "publish.waiting": "an edit waits for review",
      "publish.scheduledFor": "scheduled for {date}",
      "publish.notLive": "Not live",
      "publish.badTime": "Choose a date and time.",
      "publish.scheduledToast": "Scheduled.",
      "publish.unpublishedToast": "Unpublished.",
      "status.scheduled": "scheduled",
      // --- publishing (app/web/publishing.js) ---
      "targets.heading": "WordPress sites",
      "targets.show": "Show",
      "targets.hide": "Hide",
      "targets.explain": "Sites articles are published to. The Application Password (WordPress: Users > Profile > Application Passwords) is stored and never shown again.",
      "targets.name": "Name",
      "targets.site": "Site",
      "targets.user": "User",
      "targets.password": "Application Password",
      "targets.status": "Default status",
      "targets.auto": "Send automatically",
      "targets.unpublish": "On unpublish",
      "targets.categories": "Categories (ours=WordPress, comma-separated)",
      "targets.add": "Add site",
      "targets.test": "Test",
      "targets.delete": "Delete",
      "targets.none": "No site yet.",
      "targets.created": "Site {name} added.",
      "targets.deleted": "Site {name} deleted; its posts stay on WordPress.",
      "targets.confirmDelete": "Delete site {name}? Posts already sent stay on WordPress.",
      "targets.ok": "{name}: signed in as {user}, may publish.",
      "targets.notOk": "{name}: not working.",
      "wpstatus.draft": "draft",
      "wpstatus.pending": "pending review",
      "wpstatus.future": "scheduled",
      "wpstatus.publish": "published",
      "auto.manual": "only when sent",
      "auto.on_approve": "on approve",
      "auto.on_publish": "on publish",
      "unpublish.draft": "back to draft",
      "unpublish.trash": "to the trash",
      "publications.heading": "On WordPress",
      "publications.none": "Not sent to any site yet.",
      "publications.send": "Send",
      "publications.when": "Publish at (your time, for scheduled)",
      "publications.targetStatus": "site default",
      "publications.unpublish": "Unpublish",
      "publications.queued": "Queued for {name}.",
      "publications.attempts": "{count} attempt(s)",
      "publications.open": "Open",
      "pubstate.queued": "queued",
      "pubstate.sent": "sent",
      "pubstate.scheduled": "scheduled",
      "pubstate.live": "live",
      "pubstate.failed": "failed",
      "pubstate.withdrawn": "withdrawn",
    },
    "zh-CN": {
      "page.title": "TrustAgency · 文章生成",
      "brand.name": "TrustAgency",
      "brand.tagline": "文章生成",
      "lang.switch": "English",
      "lang.switchTitle": "以英文显示此页面",
      "token.button": "API 令牌",
      "compose.heading": "新建批次",
      "form.titles": "标题 {hint}",
      "form.titlesHint": "每行一个",
      "form.placeholder": "如何选择储蓄账户\n指数基金详解\n什么是信用评分？",
      "form.category": "分类",
      "category.guide": "指南",
      "category.review": "评测",
      "category.news": "新闻",
      "category.comparison": "对比",
      "form.noTitles": "还没有标题",
      "form.count": { other: "{count} 个标题 · {count} 篇文章" },
      "form.generate": "生成",
      "form.language": "语言",
      "form.languageHint": "BCP 47 语言标记，如 en 或 zh-CN；auto 表示按每个标题自身的语言",
      "language.auto": "auto（按标题语言）",
      "form.badLanguage": "语言须为 auto 或语言标记，例如 en、zh-CN 或 ja。",
      "form.priority": "优先级",
      "form.priorityHint": "高优先级先于普通批次运行；低优先级在没有其他任务等待时运行",
      "priority.high": "高",
      "priority.normal": "普通",
      "priority.low": "低",
      "form.owner": "负责人",
      "form.ownerPlaceholder": "你的名字或团队",
      "form.ownerHint": "该批次属于谁；工作进程在各负责人之间公平分配",
      "form.badOwner": "负责人须为一行，最多 100 个字符。",
      "batch.priority": "{priority}优先级",
      "batch.priorityTitle": "优先级",
      "batch.owner": "负责人：{owner}",
      "batch.ownerTitle": "负责人",
      "batch.quality": " · 重新生成 {regenerated} · 待审核 {review}",
      "profiles.heading": "分类配置",
      "profiles.show": "显示",
      "profiles.hide": "隐藏",
      "profiles.explain": "每个分类的写作与检查方式。guide、review、news 和 default 为内置配置，修改后另存；没有配置的分类使用 default。",
      "profiles.category": "分类",
      "profiles.source": "来源",
      "profiles.builtin": "内置",
      "profiles.stored": "第 {version} 版",
      "profiles.words": "词数",
      "profiles.chars": "字数（中日韩）",
      "profiles.sections": "章节数",
      "profiles.model": "模型",
      "profiles.modelDefault": "OPENAI_MODEL",
      "profiles.temperature": "温度",
      "profiles.temperatureDefault": "默认",
      "profiles.duplicate": "重复阈值",
      "profiles.instructions": "给模型的写作要求",
      "profiles.minWords": "最少词数",
      "profiles.maxWords": "最多词数",
      "profiles.minChars": "最少字数",
      "profiles.maxChars": "最多字数",
      "profiles.edit": "编辑",
      "profiles.editing": "配置：{category}",
      "profiles.creating": "新建配置",
      "profiles.new": "为其他分类新建配置",
      "profiles.save": "保存",
      "profiles.reset": "恢复默认",
      "profiles.cancel": "取消",
      "profiles.saved": "已保存分类 {category} 的配置（第 {version} 版）。",
      "profiles.removed": "分类 {category} 已恢复默认配置。",
      "profiles.range": "{low}–{high}",
      "form.submitting": "正在提交…",
      "form.tooMany": "标题太多：共 {count} 个（每批最多 {max} 个）。",
      "form.titleTooLong": "第 {n} 个标题长 {length} 个字符（最多 {max} 个）。",
      "form.titleControl": "第 {n} 个标题含有控制字符。",
      "form.badCategory": "分类须为简短标识：小写字母 a-z、数字、“-”或“_”（例如 guide）。",
      "form.needTitle": "请至少添加一个标题，每行一个。",
      "form.fieldError": "{field}：{message}",
      "toast.submitted": { other: "已提交批次，共 {count} 篇。" },
      "batches.heading": "批次",
      "batches.total": "共 {count} 个",
      "batches.empty": "还没有批次。请在上方粘贴标题，然后点击“生成”。",
      "batches.more": "显示更早的批次",
      "batch.titles": { other: "{count} 个标题" },
      "batch.progressLabel": "批次 {id} 的进度",
      "batch.progressText": "{percent}（已处理 {done}/{total}）",
      "batch.counts": "已处理 {done}/{total} · 完成 {completed} · 失败 {failed}",
      "batch.countsCancelled": " · 取消 {cancelled}",
      "batch.eta": "预计还需 {duration}",
      "batch.elapsedTitle": "已用时间",
      "batch.cancel": "取消",
      "batch.confirmCancel": "确认取消",
      "batch.retry": "重试失败项",
      "batch.showItems": "显示条目",
      "batch.hideItems": "隐藏条目",
      "batch.cost": "{cost} · {tokens} 个 token",
      "batch.costLeft": " · 预计还需 {cost}",
      "batch.costUnknown": "费用未知：该模型没有价格",
      "batch.costTitle": "目前的费用（按价格表计算）",
      "batch.paused": "已暂停：{reason}",
      "batch.pausedUntil": "已暂停：{reason}（将于 {time} 恢复）",
      "batch.resume": "继续",
      "batch.lane": "批处理 API",
      "batch.providerBatch": "{id}：{status}，已完成 {completed}/{total}",
      "toast.resumed": "批次已继续。",
      "status.paused": "已暂停",
      "status.pending": "等待中",
      "status.processing": "处理中",
      "status.retrying": "重试中",
      "status.completed": "已完成",
      "status.partially_completed": "部分完成",
      "status.failed": "失败",
      "status.cancelled": "已取消",
      "status.draft": "草稿",
      "status.needs_review": "待审核",
      "status.approved": "已通过",
      "status.rejected": "已驳回",
      "status.published": "已发布",
      "items.number": "#",
      "items.title": "标题",
      "items.status": "状态",
      "items.attempts": "尝试次数",
      "items.error": "错误",
      "items.read": "阅读",
      "toast.cancelling": "正在取消：进行中的文章将在几秒内停止。",
      "toast.retried": "失败的条目已重新排队。",
      "toast.copied": "已复制 Markdown。",
      "reader.meta": { other: "{category} · {provider} / {model} · {tokens} 个 token · {created}" },
      "reader.copy": "复制 Markdown",
      "reader.download": "下载 .md",
      "reader.close": "关闭",
      "token.heading": "API 令牌",
      "token.explain": "此服务器需要 {code}。令牌只保存在本浏览器中。",
      "token.label": "令牌",
      "token.save": "保存",
      "token.refused": "API 拒绝了该令牌，请检查后重试。",
      "api.unreachableShort": "无法连接 API",
      "api.unreachable": "无法连接到 API，它是否正在运行？",
      // 文章库、审核、编辑器与历史版本（library.js、reader.js）
      "tabs.label": "视图",
      "tabs.batches": "批次",
      "tabs.library": "文章库",
      "batch.inLibrary": "在文章库中查看",
      "batch.export": "导出 ZIP",
      "toast.downloaded": "已下载 {name}",
      "library.heading": "文章库",
      "library.total": { other: "共 {count} 篇" },
      "library.search": "搜索",
      "library.searchPlaceholder": "标题或正文中的词，例如 比特币 或 \"index funds\"",
      "library.status": "状态",
      "library.language": "语言",
      "library.batch": "批次 ID",
      "library.since": "创建日期从",
      "library.until": "创建日期至",
      "library.sort": "排序",
      "library.any": "全部",
      "language.en": "英语",
      "language.zh": "中文",
      "sort.newest": "最新优先",
      "sort.oldest": "最早优先",
      "sort.updated": "最近修改",
      "sort.titleAz": "标题 A–Z",
      "sort.titleZa": "标题 Z–A",
      "library.clear": "清除筛选",
      "library.export": "导出 ZIP",
      "library.exportTitle": "下载符合筛选条件的文章：带 YAML 前言的 Markdown 文件和 manifest.csv",
      "library.empty": "没有符合筛选条件的文章。",
      "library.more": "显示更多",
      "library.badDates": "“创建日期至”不能早于“创建日期从”。",
      "library.col.title": "标题",
      "library.col.category": "分类",
      "library.col.status": "状态",
      "library.col.language": "语言",
      "library.col.version": "版本",
      "library.col.created": "创建时间",
      "library.col.updated": "修改时间",
      "reader.edit": "编辑",
      "reader.history": "历史版本",
      "reader.version": "第 {version} 版",
      "reader.versionChanged": "第 {version} 版 · 修改于 {date}",
      "reader.reviewedBy": "审核人 {reviewer} · {date}",
      "reader.reviewed": "审核于 {date}",
      "reader.notYet": "此服务器暂不支持该操作（{status}）。",
      "review.reviewer": "审核人",
      "review.reviewerPlaceholder": "你的名字",
      "review.note": "备注",
      "review.notePlaceholder": "可选，随审核结果保存",
      "review.approve": "通过",
      "review.reject": "驳回",
      "review.publish": "发布",
      "review.regenerate": "重新生成…",
      "toast.approve": "已通过。",
      "toast.reject": "已驳回。",
      "toast.publish": "已发布。",
      "toast.saved": "已保存为第 {version} 版。",
      "regenerate.feedback": "给写作模型的意见",
      "regenerate.placeholder": "例如：写短一些，加一张费用表",
      "regenerate.submit": "重新生成",
      "regenerate.cancel": "取消",
      "regenerate.running": "正在重新生成……写好后新版本会显示在这里。",
      "regenerate.done": "第 {version} 版已生成。",
      "regenerate.doneToast": "“{title}”的第 {version} 版已生成。",
      "regenerate.slow": "10 分钟后仍没有新版本：请在批次中查看该条目的状态。",
      "editor.title": "标题",
      "editor.content": "Markdown 正文",
      "editor.preview": "预览",
      "editor.note": "修改说明",
      "editor.save": "保存",
      "editor.saving": "正在保存…",
      "editor.cancel": "取消",
      "editor.unchanged": "还没有任何修改。",
      "editor.needTitle": "标题不能为空。",
      "editor.stale": "在你打开之后，已有人保存了第 {version} 版。你的文字仍在这里：请复制后取消，再编辑新版本。",
      "editor.unsaved": "有未保存的修改：请先保存或取消。",
      "history.heading": "版本历史",
      "history.empty": "没有记录的版本。",
      "history.entry": "第 {version} 版",
      "history.by": "作者 {author}",
      "history.current": "当前",
      "history.show": "查看",
      "history.editFrom": "基于此版编辑",
      "history.showing": "正在查看第 {version} 版，而非当前版本。",
      "history.back": "返回当前版本",
      "source.generated": "生成",
      "source.edit": "编辑",
      "source.regenerated": "重新生成",
      // --- webhooks ---
      "webhooks.heading": "Webhook",
      "webhooks.explain": "批次结束或暂停、文章待审、通过、发布或撤下时，向其他系统发送签名的 POST（Standard Webhooks）。仅限管理员。",
      "webhooks.url": "网址（URL）",
      "webhooks.events": "事件",
      "webhooks.state": "状态",
      "webhooks.description": "说明",
      "webhooks.enabled": "已启用",
      "webhooks.failing": "已启用，投递失败中",
      "webhooks.disabled": "已停用",
      "webhooks.disabledWhy": "已停用：{reason}",
      "webhooks.none": "还没有订阅。",
      "webhooks.log": "投递记录",
      "webhooks.test": "测试",
      "webhooks.testSent": "webhook.test 测试消息已发出。",
      "webhooks.enable": "启用",
      "webhooks.disable": "停用",
      "webhooks.rotate": "更换密钥",
      "webhooks.delete": "删除",
      "webhooks.confirmDelete": "确定删除？再点一次",
      "webhooks.deleted": "订阅已删除。",
      "webhooks.secretOnce": "签名密钥只显示这一次：请保存到接收方用于验证签名的地方。",
      "webhooks.secretDone": "已保存",
      "webhooks.new": "新建订阅",
      "webhooks.create": "订阅",
      "webhooks.logTitle": { other: "{url}：{count} 次投递" },
      "webhooks.eventId": "事件 ID",
      "webhooks.type": "类型",
      "webhooks.attempts": "尝试次数",
      "webhooks.answer": "最近应答",
      "webhooks.detail": "错误或响应",
      "webhooks.next": "下次尝试",
      "webhooks.at": "{at}",
      "webhooks.redeliver": "重新投递",
      "webhooks.redelivered": "已重新发送。",
      "webhooks.refresh": "刷新",
      "webhooks.closeLog": "关闭",
      "webhooks.status.pending": "等待中",
      "webhooks.status.succeeded": "已送达",
      "webhooks.status.failed": "失败",
      // --- accounts ---
      "accounts.tab": "账户",
      "accounts.logout": "退出登录",
      "accounts.whoami": "{name} · {role}",
      "accounts.loginHeading": "登录",
      "accounts.name": "用户名",
      "accounts.password": "密码",
      "accounts.login": "登录",
      "accounts.useToken": "改用 API 令牌",
      "accounts.needBoth": "请输入用户名和密码。",
      "accounts.wrong": "用户名或密码错误。",
      "accounts.locked": "失败次数过多，请在 {seconds} 秒后重试。",
      "accounts.failed": "登录失败：{detail}",
      "accounts.unreachable": "无法连接 API。",
      "accounts.usersHeading": "用户",
      "accounts.displayName": "显示名称",
      "accounts.role": "角色",
      "accounts.state": "状态",
      "accounts.active": "启用",
      "accounts.disabled": "已停用",
      "accounts.enable": "启用",
      "accounts.disable": "停用",
      "accounts.passwordHint": "至少 12 个字符；留空：仅用令牌",
      "accounts.createUser": "创建用户",
      "accounts.created": "已创建 {name}。",
      "accounts.saved": "已保存。",
      "accounts.tokensHeading": "API 令牌",
      "accounts.tokensOf": "用户",
      "accounts.tokensOfHint": "留空：你自己的",
      "accounts.tokenName": "令牌名称",
      "accounts.tokenDays": "天数",
      "accounts.showTokens": "显示令牌",
      "accounts.createToken": "创建令牌",
      "accounts.newToken": "新令牌（只显示这一次，请立即复制）：{token}",
      "accounts.prefix": "前缀",
      "accounts.expires": "到期",
      "accounts.lastUsed": "最近使用",
      "accounts.live": "有效",
      "accounts.revoked": "已吊销或已过期",
      "accounts.revoke": "吊销",
      "accounts.never": "从不",
      "accounts.date": "{when}",
      "role.viewer": "查看者",
      "role.editor": "编辑",
      "role.reviewer": "审核者",
      "role.admin": "管理员",
      // --- audit trail ---
      "audit.heading": "审计日志",
      "audit.show": "展开",
      "audit.hide": "收起",
      "audit.explain": "通过 API 所做的每一次更改，最新的在前：谁、做了什么、结果以及来源。仅管理员可见，任何记录都不能修改。",
      "audit.user": "用户",
      "audit.actionFilter": "操作",
      "audit.actionPlaceholder": "approve_article",
      "audit.objectType": "对象类型",
      "audit.objectTypePlaceholder": "article、batch、profile…",
      "audit.objectId": "对象 ID",
      "audit.search": "查询",
      "audit.export": "导出 CSV",
      "audit.when": "时间",
      "audit.who": "用户",
      "audit.what": "操作",
      "audit.object": "对象",
      "audit.result": "结果",
      "audit.changes": "变更",
      "audit.from": "来源",
      "audit.empty": "没有符合条件的记录。",
      "audit.more": "更早的记录",
      "audit.ok": "成功",
      "audit.failed": "失败（{status}）",
      "audit.by": "操作者 {actor}",
      "audit.versions": "版本 {before} → {after}",
      "audit.fields": "字段：{fields}",
      "audit.activity": "操作记录",
      "audit.activityHeading": "操作记录",
      "audit.activityEmpty": "尚未通过 API 对这篇文章做任何操作。",
      "audit.action.approve_article": "已通过",
      "audit.action.reject_article": "已驳回",
      "audit.action.publish_article": "已发布",
      "audit.action.edit_article": "已编辑",
      "audit.action.regenerate_article": "已请求重新生成",
      // --- seo and publishing ---
      "seo.heading": "SEO 与发布",
      "seo.slug": "网址别名（slug）",
      "seo.title": "SEO 标题",
      "seo.meta": "元描述",
      "seo.excerpt": "摘要",
      "seo.tags": "标签",
      "seo.tagsPlaceholder": "用逗号分隔",
      "seo.preview": "搜索结果预览",
      "seo.count": "{length} / {low}–{high}",
      "seo.derived": "{field}：由系统生成（模型未提供），请检查",
      "seo.save": "保存 SEO 字段",
      "seo.saved": "SEO 字段已保存为新版本。",
      "seo.nothing": "没有改动。",
      "publish.at": "发布时间",
      "publish.schedule": "定时发布",
      "publish.unpublish": "取消发布",
      "publish.live": "已上线：第 {version} 版",
      "publish.waiting": "有修改等待审核",
      "publish.scheduledFor": "定于 {date} 发布",
      "publish.notLive": "未上线",
      "publish.badTime": "请选择日期和时间。",
      "publish.scheduledToast": "已定时。",
      "publish.unpublishedToast": "已取消发布。",
      "status.scheduled": "已定时",
      // --- publishing (app/web/publishing.js) ---
      "targets.heading": "WordPress 站点",
      "targets.show": "显示",
      "targets.hide": "隐藏",
      "targets.explain": "文章发布到的站点。应用程序密码（WordPress：用户 > 个人资料 > 应用程序密码）保存后不再显示。",
      "targets.name": "名称",
      "targets.site": "站点",
      "targets.user": "用户",
      "targets.password": "应用程序密码",
      "targets.status": "默认状态",
      "targets.auto": "自动发送",
      "targets.unpublish": "撤回时",
      "targets.categories": "分类（我们的=WordPress 的，逗号分隔）",
      "targets.add": "添加站点",
      "targets.test": "测试",
      "targets.delete": "删除",
      "targets.none": "尚无站点。",
      "targets.created": "已添加站点 {name}。",
      "targets.deleted": "已删除站点 {name}；已发送的文章仍留在 WordPress。",
      "targets.confirmDelete": "删除站点 {name}？已发送的文章仍留在 WordPress。",
      "targets.ok": "{name}：已以 {user} 登录，可以发布。",
      "targets.notOk": "{name}：连接有问题。",
      "wpstatus.draft": "草稿",
      "wpstatus.pending": "待审",
      "wpstatus.future": "定时发布",
      "wpstatus.publish": "已发布",
      "auto.manual": "仅手动发送",
      "auto.on_approve": "审核通过时",
      "auto.on_publish": "发布时",
      "unpublish.draft": "改回草稿",
      "unpublish.trash": "移到回收站",
      "publications.heading": "WordPress 发布",
      "publications.none": "尚未发送到任何站点。",
      "publications.send": "发送",
      "publications.when": "发布时间（本地时间，定时发布用）",
      "publications.targetStatus": "站点默认",
      "publications.unpublish": "撤回",
      "publications.queued": "已排队发送到 {name}。",
      "publications.attempts": "尝试 {count} 次",
      "publications.open": "打开",
      "pubstate.queued": "排队中",
      "pubstate.sent": "已发送",
      "pubstate.scheduled": "已定时",
      "pubstate.live": "已上线",
      "pubstate.failed": "失败",
      "pubstate.withdrawn": "已撤回",
    },
  };
  const SUPPORTED = Object.keys(MESSAGES);

  // ---- which language ------------------------------------------------------------------------
  const primary = (tag) => String(tag || "").toLowerCase().split("-")[0];

  function browserLanguages() {
    const list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    return list.filter(Boolean);
  }

  function match(tag) { // "zh-CN" / "zh" / "zh-Hans-SG" -> "zh-CN"; "en-GB" -> "en"
    if (!tag) return null;
    const exact = SUPPORTED.find((s) => s.toLowerCase() === String(tag).toLowerCase());
    return exact || SUPPORTED.find((s) => primary(s) === primary(tag)) || null;
  }

  function stored() {
    try { return match(localStorage.getItem(STORAGE_KEY)); } catch (_) { return null; }
  }

  function initial() {
    const saved = stored();
    if (saved) return saved;
    for (const tag of browserLanguages()) {
      const found = match(tag);
      if (found) return found;
    }
    return DEFAULT;
  }

  let locale = initial();
  let formats = null;

  function formatLocale() { // the browser's own variant when it speaks this language (en-GB dates)
    const own = browserLanguages().find((tag) => primary(tag) === primary(locale));
    try { return Intl.getCanonicalLocales(own || locale)[0]; } catch (_) { return locale; }
  }

  function makeFormats() {
    const tag = formatLocale();
    return {
      tag,
      number: new Intl.NumberFormat(tag),
      percent: new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: 0 }),
      date: new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeStyle: "short" }),
      plural: new Intl.PluralRules(locale),
      units: {},
    };
  }

  // ---- messages ------------------------------------------------------------------------------
  function lookup(key) {
    const own = MESSAGES[locale] && MESSAGES[locale][key];
    if (own !== undefined) return own;
    const fallback = MESSAGES[DEFAULT][key];
    if (fallback === undefined) console.warn(`i18n: no message ${key}`);
    return fallback === undefined ? key : fallback;
  }

  function select(message, params) {
    if (typeof message === "string") return message;
    const count = typeof params.count === "number" ? params.count
      : Object.values(params).find((v) => typeof v === "number");
    const category = typeof count === "number" ? formats.plural.select(count) : "other";
    return message[category] !== undefined ? message[category] : message.other;
  }

  function value(v) {
    if (typeof v === "number") return formats.number.format(v);
    if (v && typeof v === "object" && "$date" in v) return date(v.$date);
    return v === null || v === undefined ? "" : String(v);
  }

  // The message as pieces: strings, and the Nodes given for {slots}.
  function parts(key, params = {}) {
    const text = select(lookup(key), params);
    const out = [];
    let last = 0;
    for (const m of text.matchAll(/\{(\w+)\}/g)) {
      if (m.index > last) out.push(text.slice(last, m.index));
      const v = params[m[1]];
      out.push(v instanceof Node ? v : (m[1] in params ? value(v) : m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  function t(key, params = {}) {
    return parts(key, params).map((p) => (p instanceof Node ? p.textContent : p)).join("");
  }

  function number(n, options) {
    return options ? new Intl.NumberFormat(formats.tag, options).format(n) : formats.number.format(n);
  }

  function percent(whole) { return formats.percent.format(whole / 100); }

  function date(input) {
    const d = input instanceof Date ? input : new Date(input);
    return Number.isNaN(d.getTime()) ? "" : formats.date.format(d);
  }

  function unit(n, name, digits = 0) { // "5 sec" / "5秒", "1.5 hr" / "1.5小时"
    const key = `${name}/${digits}`;
    if (!formats.units[key]) {
      try {
        formats.units[key] = new Intl.NumberFormat(formats.tag, {
          style: "unit", unit: name, unitDisplay: "short", maximumFractionDigits: digits });
      } catch (_) {
        formats.units[key] = { format: (x) => `${x} ${name}` };
      }
    }
    return formats.units[key].format(n);
  }

  function duration(seconds) {
    const s = Math.max(1, Math.round(seconds));
    if (s < 60) return unit(s, "second");
    if (s < 3600) return unit(Math.round(s / 60), "minute");
    return unit(Math.round(s / 360) / 10, "hour", 1);
  }

  // ---- the document --------------------------------------------------------------------------
  const bound = new WeakMap(); // node -> {key, params} for I18N.bind
  const slots = new WeakMap(); // node -> {name: Node} captured from data-slot children

  function slotsOf(node) {
    if (!slots.has(node)) {
      const found = {};
      for (const child of node.querySelectorAll(":scope > [data-slot]")) found[child.dataset.slot] = child;
      slots.set(node, found);
    }
    return slots.get(node);
  }

  function translate(node) {
    const key = node.dataset.i18n;
    const params = { ...((bound.get(node) || {}).params || {}), ...slotsOf(node) };
    if (node.tagName === "TITLE") document.title = t(key, params);
    else node.replaceChildren(...parts(key, params));
  }

  function apply(root = document) {
    const nodes = [];
    if (root.matches && root.matches("[data-i18n], [data-i18n-attr]")) nodes.push(root);
    nodes.push(...root.querySelectorAll("[data-i18n], [data-i18n-attr]"));
    for (const node of nodes) {
      if (node.dataset.i18n) translate(node);
      for (const pair of (node.dataset.i18nAttr || "").split(/\s+/).filter(Boolean)) {
        const [attr, key] = pair.split(":");
        node.setAttribute(attr, t(key));
      }
    }
  }

  // Set a node's text from a message and keep it translated; no key clears it.
  function bind(node, key, params = {}) {
    if (!key) {
      delete node.dataset.i18n;
      bound.delete(node);
      node.textContent = "";
      return;
    }
    node.dataset.i18n = key;
    bound.set(node, { key, params });
    translate(node);
  }

  const listeners = [];

  function setDocumentLanguage() {
    document.documentElement.lang = locale;
    const toggle = document.getElementById("lang-toggle");
    if (toggle) toggle.setAttribute("lang", SUPPORTED.find((s) => s !== locale) || DEFAULT);
  }

  function setLocale(tag, { remember = true } = {}) {
    const next = match(tag) || DEFAULT;
    if (remember) { try { localStorage.setItem(STORAGE_KEY, next); } catch (_) { /* private mode */ } }
    if (next === locale && formats) return;
    locale = next;
    formats = makeFormats();
    setDocumentLanguage();
    apply(document);
    for (const listener of listeners) listener(locale);
  }

  function toggle() {
    setLocale(SUPPORTED[(SUPPORTED.indexOf(locale) + 1) % SUPPORTED.length]);
  }

  formats = makeFormats();
  setDocumentLanguage();
  apply(document);
  const button = document.getElementById("lang-toggle");
  if (button) button.addEventListener("click", toggle);

  window.I18N = Object.freeze({
    t, parts, bind, apply, number, percent, date, duration, setLocale, toggle,
    messages: MESSAGES,
    supported: SUPPORTED,
    get locale() { return locale; },
    onChange(listener) { listeners.push(listener); },
  });
})();
