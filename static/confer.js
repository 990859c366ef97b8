// Confer's browser code: an ES module, no build step, no inline script (our CSP forbids it).
// Every page works without it. With it: GOV.UK component behaviour, and live updates over
// socket.io — new posts appear in place, counts and presence stay current, the composer posts
// without a reload, and nothing is lost across a reconnect (we re-join with the last seq seen).
//
// Rule: user-supplied text is only ever inserted as text nodes. The one exception is a post's
// `html`, which the server rendered and sanitised (markdown-it + nh3) and is inserted as such.
import { initAll } from "/static/vendor/govuk-frontend/govuk-frontend.min.js";
import { io } from "/static/vendor/socket.io/socket.io.esm.min.js";

document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
initAll();

const body = document.body;

// --- messages in the page's language ------------------------------------------------------
// Every sentence this file writes comes from the catalogues (confer/locale), handed to the page
// by base.html as data (confer.i18n.js_messages): {lang, plural (the language's plural
// categories in catalogue order), messages (msgid → text, or the list of plural forms)}.
// Call gettext/ngettext with string literals, so that `pybabel extract` finds the messages.
const i18n = (() => {
  try {
    return JSON.parse(document.getElementById("confer-messages")?.textContent || "{}");
  } catch {
    return {};
  }
})();
const messages = i18n.messages || {};
const pluralRules = new Intl.PluralRules(i18n.lang || "en-GB");

function format(text, vars = {}) {
  return text.replace(/%\((\w+)\)[sd]|%%/g, (match, name) => (name === undefined ? "%" : String(vars[name] ?? "")));
}

function gettext(msgid, vars) {
  const text = messages[msgid];
  return format(typeof text === "string" && text ? text : msgid, vars);
}

function ngettext(singular, plural, n, vars = {}) {
  const forms = messages[singular];
  let text = n === 1 ? singular : plural;
  if (Array.isArray(forms)) {
    const index = (i18n.plural || ["one", "other"]).indexOf(pluralRules.select(n));
    text = forms[index >= 0 ? index : forms.length - 1] || text;
  }
  return format(text, { num: n, ...vars });
}
const threadId = Number(body.dataset.threadId || 0);
const conferenceId = Number(body.dataset.conferenceId || 0);

// --- small DOM helpers ------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// The CSRF field of a form built here: the same token as the page's own forms (base.html's meta).
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
const csrfField = () => el("input", { type: "hidden", name: "csrf_token", value: csrfToken });

const announcer = document.getElementById("live-announcer");
function announce(text) {
  if (!announcer) return;
  // Clear, then set on the next frame, so that repeated messages are read again.
  announcer.textContent = "";
  requestAnimationFrame(() => { announcer.textContent = text; });
}

// A count and its words in the page's language: the number (data-post-count and the like,
// hidden) and, in the same element, the whole phrase (`data-count-text`: "3 posts", "3 neges"), written again
// with the language's plural form. Without that, a noun in plain text after the number is
// kept in step the English way ("1 post", "2 posts"; "1 vote").
const COUNT_TEXTS = {
  posts: (n) => ngettext("%(num)d post", "%(num)d posts", n),
  votes: (n) => ngettext("%(num)d vote", "%(num)d votes", n),
};
function setCount(node, n) {
  node.textContent = String(n);
  const phrase = node.parentElement?.querySelector(":scope > [data-count-text]");
  if (phrase && COUNT_TEXTS[phrase.dataset.countText]) {
    phrase.textContent = COUNT_TEXTS[phrase.dataset.countText](n);
    return;
  }
  const word = node.nextSibling;
  if (word && word.nodeType === Node.TEXT_NODE) {
    if (node.hasAttribute("data-vote-count")) {
      // A server-drawn "<strong>6</strong> phleidlais": the noun after the number takes the
      // form the reader's language gives that number (Welsh has six).
      const noun = ngettext("%(num)d vote", "%(num)d votes", n).replace(String(n), "").trim();
      word.textContent = word.textContent.replace(/^(\s*)[^\s—]+/, (_, space) => space + noun);
      return;
    }
    word.textContent = word.textContent.replace(/^(\s*)(post|vote)s?(?![a-z])/, (_, space, noun) => space + noun + (n === 1 ? "" : "s"));
  }
}

function authorName(author) {
  return [author.title, author.name].filter(Boolean).join(" ");
}

// A post's author; one whose account is gone has no id (the name the server sent is in the
// language of whoever's action sent the event, so it is written here again).
function authorOrFormer(author) {
  return (author.id != null && authorName(author)) || gettext("Former participant");
}

// The page's language, as a post's `lang` says it ("en", "cy"), and back to a lang attribute.
const pageLang = (i18n.lang || "en-GB").split("-")[0] === "cy" ? "cy" : "en";
const htmlLang = (code) => (code === "cy" ? "cy" : "en-GB");

// The reason a facilitator hid a post, in the page's language when it is Confer's own (the
// reason members' reports hide a post with: confer.posts.service.AUTO_HIDE_REASON).
function hiddenReason(reason) {
  if (!reason) return gettext("no reason given");
  if (reason === "Hidden while facilitators review reports from members") return gettext("Hidden while facilitators review reports from members");
  return reason;
}

// What stands in for a post's text (deleted, or hidden from this reader), in the page's
// language: events are sent once to every reader of a thread, whatever their language.
function placeholderOf(post) {
  if (post.status === "deleted") return gettext("This post was deleted by its author.");
  if (post.status === "hidden") return gettext("Removed by a facilitator: %(reason)s", { reason: hiddenReason(post.hidden_reason) });
  return post.placeholder;
}

// When something was written, as the page shows it: in the conference's time zone, with the
// zone named, in the page's language. The server writes it in every language
// (`created_at_texts`, by the page's `lang`): never the browser's own time zone.
function shortTime(item) {
  return (item.created_at_texts || {})[i18n.lang] || item.created_at_text || "";
}

// A `<time datetime>` value: HTML allows at most three digits of a second's fractions.
function htmlTime(iso) {
  return (iso || "").replace(/(\.\d{3})\d+/, "$1");
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- the connection ---------------------------------------------------------------------

const rooms = [];
let socket = null;
const REJOIN_OVERLAP = 20; // seqs asked for again on a rejoin (see threadPage)

function connect() {
  if (socket) return socket;
  // Same origin, the sign-in cookie goes with the handshake. Reconnects with backoff by itself.
  socket = io({ reconnectionDelay: 1000, reconnectionDelayMax: 10000 });
  const status = document.querySelector("[data-connection-status]");
  let everConnected = false;
  socket.on("connect", () => {
    if (status) { status.hidden = true; status.textContent = ""; }
    for (const room of rooms) room.join(everConnected);
    everConnected = true;
  });
  socket.on("disconnect", () => {
    if (status && everConnected) { status.hidden = false; status.textContent = gettext("Reconnecting…"); }
  });
  // A connection the server refused (its database briefly away) is not retried by the client
  // library: try again ourselves.
  socket.on("connect_error", (err) => {
    if (socket.active || err?.data?.code !== "unavailable") return;
    if (status) { status.hidden = false; status.textContent = gettext("Reconnecting…"); }
    setTimeout(() => socket.connect(), 5000);
  });
  socket.on("presence", ({ room, count }) => {
    for (const node of document.querySelectorAll(`[data-presence="${CSS.escape(room)}"]`)) {
      node.hidden = false;
      node.textContent = ngettext("%(num)d here now", "%(num)d here now", count);
    }
  });
  return socket;
}

function room(name, { after, since, ask, onJoined } = {}) {
  const entry = {
    join(isRejoin) {
      const payload = { room: name, ...ask };
      const seq = after ? after() : undefined;
      if (seq !== undefined) payload.after = seq;
      const change = since ? since() : undefined;
      if (change !== undefined) payload.since = change;
      socket.emit("join", payload, (ack) => { if (onJoined) onJoined(ack || {}, isRejoin); });
    },
  };
  rooms.push(entry);
  connect();
  if (socket.connected) entry.join(false);
  return entry;
}

// --- a thread page ----------------------------------------------------------------------

function threadPage() {
  const list = document.querySelector("[data-posts]");
  if (!list) return;
  const live = list.dataset.live === "on";
  let lastSeq = Number(body.dataset.lastSeq || 0);
  // The newest change to a post seen (approved, hidden, edited…): such a post keeps its seq,
  // so a reconnect asks for the changes after this number too.
  let lastChange = Number(body.dataset.lastChangeSeq || 0);
  function sawChange(post) { lastChange = Math.max(lastChange, post.change_seq || 0); }
  // Shown posts, by id: an approved post arrives late with an earlier seq, so seq alone cannot dedupe.
  const shown = new Set(Array.from(list.querySelectorAll("article[data-post-id]"), (a) => Number(a.dataset.postId)));
  const slug = location.pathname.split("/")[2];
  let unseen = [];

  const newPostsButton = el("button", { type: "button", class: "govuk-button govuk-button--secondary confer-new-posts", hidden: true });
  newPostsButton.addEventListener("click", () => {
    const first = unseen[0];
    unseen = [];
    newPostsButton.hidden = true;
    if (first) { first.scrollIntoView({ behavior: "smooth", block: "start" }); first.querySelector("h3")?.focus?.(); }
  });
  list.after(newPostsButton);

  function nearBottom() {
    // Near the end of the posts (not of the page: the composer and footer come after them).
    return list.getBoundingClientRect().bottom <= window.innerHeight + 250;
  }

  function render(post) {
    const article = el("article", {
      class: "confer-post" + (mine(post) ? "" : " confer-post--new") + (post.placeholder ? " confer-post--placeholder" : ""),
      id: `post-${post.id}`, "data-seq": post.seq, "data-post-id": post.id, "data-status": post.status, "data-pinned": post.pinned ? "yes" : "no",
      "aria-labelledby": `post-${post.id}-author`,
    });
    const heading = el("h3", { class: "govuk-heading-s confer-post__author", id: `post-${post.id}-author`, tabindex: "-1" },
      authorOrFormer(post.author));
    const role = { organiser: gettext("Organiser"), facilitator: gettext("Facilitator"), speaker: gettext("Speaker") }[post.author.role];
    if (role) heading.append(" ", el("strong", { class: "govuk-tag govuk-tag--turquoise confer-role" }, role));
    const header = el("header", { class: "confer-post__header" }, heading);
    if (post.author.organisation) header.append(el("p", { class: "govuk-body-s confer-post__org" }, post.author.organisation));
    header.append(el("p", { class: "govuk-body-s confer-post__meta" },
      el("a", { class: "govuk-link govuk-link--no-visited-state", href: post.url }, el("time", { datetime: htmlTime(post.created_at) }, shortTime(post))),
      // Your own post is not new to you.
      mine(post) ? null : " ", mine(post) ? null : el("strong", { class: "govuk-tag govuk-tag--yellow" }, gettext("New"))));
    article.append(header);
    if (post.reply_to) {
      // "In reply to <a>name</a>": the sentence is one message, the link put in its place.
      const [before, after] = gettext("In reply to %(name)s").split("%(name)s");
      article.append(el("p", { class: "govuk-body-s confer-post__reply-to" }, before,
        el("a", { class: "govuk-link", href: `/c/${slug}/posts/${post.reply_to.id}` }, post.reply_to.author || gettext("Former participant")),
        after || ""));
    }
    article.append(...statusNotes(post));
    article.append(bodyOf(post));
    article.append(actions(post));
    return article;
  }

  const myId = Number(body.dataset.userId || 0);
  const canReply = list.dataset.canReply === "yes";
  function mine(post) { return Boolean(myId) && post.author.id === myId; }

  // The notes above a post's text, as templates/_partials/post.html writes them.
  function statusNotes(post) {
    const notes = [];
    const mine = myId && post.author.id === myId;
    const note = (...children) => el("p", { class: "govuk-body-s confer-post__status" }, ...children);
    if (post.status === "pending") {
      notes.push(note(el("strong", { class: "govuk-tag govuk-tag--orange" }, gettext("Awaiting approval")),
        mine ? " " + gettext("Only you and the facilitators can see this post until it is approved.") : ""));
    } else if (post.status === "hidden" && !post.placeholder) {
      notes.push(note(el("strong", { class: "govuk-tag govuk-tag--red" }, gettext("Hidden")),
        " " + gettext("Removed by a facilitator: %(reason)s.", { reason: hiddenReason(post.hidden_reason) }),
        mine ? " " + gettext("Others see only this reason; you can still see your text.") : ""));
    }
    if (post.pinned && post.status === "visible") {
      notes.push(note(el("strong", { class: "govuk-tag govuk-tag--blue" }, gettext("Pinned by a facilitator"))));
    }
    return notes;
  }
  function actions(post) {
    const items = el("ul", { class: "govuk-list govuk-body-s confer-post__actions" });
    const who = authorOrFormer(post.author);
    if (canReply) {
      const reply = el("a", { class: "govuk-link", href: `?page=${body.dataset.page}&reply_to=${post.id}#body`, "data-reply-to": post.id },
        gettext("Reply"), el("span", { class: "govuk-visually-hidden" }, " " + gettext("to %(name)s", { name: who })));
      items.append(el("li", {}, reply));
    }
    if (myId && post.author.id === myId && post.status !== "deleted") {
      items.append(el("li", {}, el("a", { class: "govuk-link", href: `/c/${slug}/posts/${post.id}/edit` },
        gettext("Edit"), el("span", { class: "govuk-visually-hidden" }, " " + gettext("your post")))));
      // Deleting asks first (the confirmation page, which offers Undo afterwards).
      items.append(el("li", {}, el("a", { class: "govuk-link", href: `/c/${slug}/posts/${post.id}/delete` },
        gettext("Delete"), el("span", { class: "govuk-visually-hidden" }, " " + gettext("your post")))));
    }
    return items;
  }

  function bodyOf(post) {
    if (post.placeholder) {
      return el("p", { class: "govuk-body confer-post__placeholder" }, el("em", {}, placeholderOf(post)));
    }
    // A post written in the other language than the page's is marked with its own.
    const div = el("div", { class: "confer-prose confer-post__body", lang: post.lang && post.lang !== pageLang ? htmlLang(post.lang) : null });
    div.innerHTML = post.html; // sanitised on the server; see the note at the top
    return div;
  }

  function insert(post, { announceIt }) {
    if (shown.has(post.id)) return false; // already shown: replays and races never duplicate
    shown.add(post.id);
    lastSeq = Math.max(lastSeq, post.seq);
    body.dataset.lastSeq = String(lastSeq);
    if (post.status === "visible") countPosts(1);
    if (!live) {
      showNotice(gettext("New posts have been added. Go to the last page to read them."));
      return;
    }
    const wasAtBottom = nearBottom();
    const empty = list.querySelector("p.govuk-body:only-of-type");
    if (empty && !list.querySelector("article")) empty.remove();
    const article = render(post);
    list.append(article);
    if (announceIt) announce(gettext("New post from %(name)s", { name: authorOrFormer(post.author) }));
    if (wasAtBottom) {
      article.scrollIntoView({ block: "nearest" });
    } else {
      unseen.push(article);
      newPostsButton.hidden = false;
      newPostsButton.textContent = ngettext("%(num)d new post", "%(num)d new posts", unseen.length);
    }
    return true;
  }

  // The thread's count is of its visible posts, as the server keeps it.
  function countPosts(delta) {
    if (delta) for (const n of document.querySelectorAll("[data-post-count]")) setCount(n, Number(n.textContent || 0) + delta);
  }
  function removePost(id) {
    const article = document.getElementById(`post-${id}`);
    if (!article) return;
    if (article.dataset.status === "visible") countPosts(-1);
    article.remove();
  }

  function update(post) {
    const article = document.getElementById(`post-${post.id}`);
    if (!article) return;
    const was = article.dataset.status;
    const pinned = post.pinned ? "yes" : "no";
    // A facilitator's tools were drawn for the post as it was (approve, restore, pin…).
    const tools = article.querySelector("details.confer-post-tools");
    if (tools && (was !== post.status || article.dataset.pinned !== pinned)) {
      tools.replaceWith(el("p", { class: "govuk-body-s" }, gettext("This post has changed.") + " ",
        el("a", { class: "govuk-link", href: post.url }, // its permalink: a real reload, to it
          gettext("Reload for the facilitator's tools"), el("span", { class: "govuk-visually-hidden" }, " " + gettext("for this post")))));
    }
    article.dataset.status = post.status;
    article.dataset.pinned = pinned;
    countPosts((post.status === "visible") - (was === "visible"));
    for (const note of article.querySelectorAll(".confer-post__status")) note.remove();
    const old = article.querySelector(".confer-post__body, .confer-post__placeholder");
    const fresh = bodyOf(post);
    if (old) old.replaceWith(fresh); else article.append(fresh);
    fresh.before(...statusNotes(post));
    const meta = article.querySelector(".confer-post__meta");
    if (meta && post.edited_at && post.status !== "deleted" && !meta.querySelector(".confer-post__edited")) {
      meta.querySelector("time")?.parentElement.after(" ", el("span", { class: "confer-post__edited" }, gettext("(edited)")));
    }
    if (post.status === "deleted") meta?.querySelector(".confer-post__edited")?.remove();
    article.classList.toggle("confer-post--placeholder", Boolean(post.placeholder));
    if (post.status === "deleted") article.querySelector(".confer-post__actions")?.remove();
  }

  let notice = null;
  function showNotice(text) {
    if (!notice) {
      notice = el("div", { class: "govuk-inset-text", role: "status" });
      list.before(notice);
    }
    notice.replaceChildren(document.createTextNode(text + " "),
      el("a", { class: "govuk-link", href: location.pathname }, gettext("Reload the page")));
  }

  window.conferInsertPost = (post) => insert(post, { announceIt: false });

  room(`thread:${threadId}`, {
    // Posts committed close together can be broadcast out of seq order, so the highest seq seen
    // does not prove every lower one arrived: ask again for a few before it (shown ones are skipped).
    after: () => Math.max(0, lastSeq - REJOIN_OVERLAP),
    // Changes too can be broadcast out of order: ask again for a few before the newest seen.
    since: () => Math.max(0, lastChange - REJOIN_OVERLAP),
    onJoined(ack) {
      if (!ack.ok) return;
      if (ack.reload) { showNotice(gettext("A lot has been posted while you were away.")); return; }
      // A replayed backlog is inserted quietly: only posts that arrive live are announced.
      // A post already shown comes again when it changed meanwhile (approved, hidden, edited).
      let added = 0;
      for (const post of ack.missed || []) {
        sawChange(post);
        if (shown.has(post.id)) { if (post.change_seq) update(post); }
        else if (insert(post, { announceIt: false })) added += 1;
      }
      for (const gone of ack.removed || []) removePost(gone.id);
      if (added) announce(ngettext("%(num)d new post while you were away", "%(num)d new posts while you were away", added));
    },
  });
  socket.on("post:new", (post) => {
    if (post.thread_id !== threadId) return;
    sawChange(post);
    insert(post, { announceIt: true });
  });
  socket.on("post:updated", (post) => {
    if (post.thread_id !== threadId) return;
    sawChange(post);
    if (document.getElementById(`post-${post.id}`)) update(post);
    else if (post.status === "pending" && post.author.id === Number(body.dataset.userId || 0)) insert(post, { announceIt: false });
  });
  socket.on("post:removed", (gone) => {
    if (gone.thread_id === threadId) removePost(gone.id);
  });
  socket.on("thread:updated", (change) => {
    if (change.thread_id !== threadId) return;
    const area = document.querySelector("[data-composer-area]");
    const stateArea = document.querySelector("[data-thread-state-area]");
    if (change.summary_html !== undefined) {
      let summary = document.querySelector(".confer-summary .confer-prose");
      if (!summary && change.summary_html) {
        const section = el("section", { class: "confer-summary", "aria-labelledby": "summary-heading" },
          el("h2", { class: "govuk-heading-m", id: "summary-heading" }, gettext("Facilitator summary")));
        summary = el("div", { class: "confer-prose" });
        section.append(summary);
        list.before(section);
      }
      if (summary) summary.innerHTML = change.summary_html; // sanitised on the server
    }
    if (change.posting_state === "locked") {
      if (area) area.hidden = true;
      const text = gettext("A facilitator locked this thread: %(reason)s", { reason: change.lock_reason || gettext("no reason given") });
      if (stateArea) stateArea.replaceChildren(el("p", { class: "govuk-inset-text", "data-thread-state": true }, text));
      announce(text);
    } else if (change.posting_state === "open") {
      if (area) area.hidden = false;
      if (stateArea) stateArea.replaceChildren();
      announce(gettext("This thread is now open for posts."));
    } else if (change.posting_state === "closed") {
      if (area) area.hidden = true;
      // Written here, in the reader's language (the event's `message` is the server's English).
      const text = gettext("This thread has closed for posts. You can still read it.");
      if (stateArea) {
        stateArea.replaceChildren(el("p", { class: "govuk-inset-text", "data-thread-state": true }, text));
      }
      announce(text);
    }
  });

  composer();
}

// --- the composer: post without a reload, keep the text when refused ---------------------

function composer() {
  const form = document.querySelector("form[data-composer]");
  if (!form) return;
  const textarea = form.querySelector("textarea[name=body]");
  const keyInput = form.querySelector("input[name=idempotency_key]");
  const replyInput = form.querySelector("input[name=reply_to]");
  const errorsArea = document.querySelector("[data-composer-errors]");
  const button = form.querySelector("button[type=submit]");
  let sending = false;

  function showErrors(error) {
    const fields = error.fields && Object.keys(error.fields).length ? error.fields : { body: error.message };
    const list = el("ul", { class: "govuk-list govuk-error-summary__list" });
    for (const [name, message] of Object.entries(fields)) {
      list.append(el("li", {}, el("a", { href: `#${name === "body" ? "body" : name}` }, message)));
    }
    const summary = el("div", { class: "govuk-error-summary", tabindex: "-1" },
      el("div", { role: "alert" },
        el("h2", { class: "govuk-error-summary__title" }, gettext("There is a problem")),
        el("div", { class: "govuk-error-summary__body" }, list)));
    errorsArea.replaceChildren(summary);
    const group = textarea.closest(".govuk-form-group");
    group.classList.add("govuk-form-group--error");
    textarea.classList.add("govuk-textarea--error");
    group.querySelector(".govuk-error-message")?.remove();
    const message = el("p", { class: "govuk-error-message", id: "body-error" },
      el("span", { class: "govuk-visually-hidden" }, gettext("Error:")), " ", fields.body || error.message);
    textarea.before(message);
    textarea.setAttribute("aria-describedby", "body-error");
    summary.focus();
  }

  function clearErrors() {
    errorsArea.replaceChildren();
    const group = textarea.closest(".govuk-form-group");
    group.classList.remove("govuk-form-group--error");
    textarea.classList.remove("govuk-textarea--error");
    group.querySelector(".govuk-error-message")?.remove();
  }

  form.addEventListener("submit", (event) => {
    // Without a live connection, let the form post the ordinary way (it works without JS).
    if (!socket || !socket.connected) return;
    event.preventDefault();
    if (sending) return; // a double click sends once; the key makes retries safe anyway
    sending = true;
    button.disabled = true;
    const payload = {
      thread_id: threadId, body: textarea.value, idempotency_key: keyInput.value || newKey(),
      reply_to: replyInput && replyInput.value ? Number(replyInput.value) : null,
    };
    keyInput.value = payload.idempotency_key;
    socket.timeout(15000).emit("post", payload, (err, ack) => {
      sending = false;
      button.disabled = false;
      if (err) {
        // No answer: keep the text and the key, so that trying again cannot post twice.
        showErrors({ message: gettext("Your post could not be sent just now. Try again: it will not be posted twice.") });
        return;
      }
      if (!ack.ok) { showErrors(ack.error); return; }
      clearErrors();
      if (ack.post && window.conferInsertPost) window.conferInsertPost(ack.post);
      textarea.value = "";
      keyInput.value = newKey();
      if (replyInput) replyInput.value = "";
      document.querySelector("[data-replying]")?.remove();
      followedByPosting();
      announce(gettext("Your post has been added."));
    });
  });

  // "Reply" (…&reply_to=<id>#body) and the skip link land on the text box: the browser focuses
  // the fragment's textarea itself; make sure of it, unless an error summary took the focus.
  const replying = new URLSearchParams(location.search).has("reply_to") || location.hash === "#body";
  if (replying && !textarea.closest("[hidden]") && !document.querySelector(".govuk-error-summary")) {
    if (document.activeElement !== textarea) textarea.focus();
  }
}

// Posting in a thread makes its author follow it, unless they chose before (the follow form
// says which: data-follow-on-post): the Follow box says so once the post is added.
function followedByPosting() {
  const form = document.querySelector("form[data-follow-on-post]");
  if (!form) return;
  form.removeAttribute("data-follow-on-post");
  const choice = form.querySelector("input[name=following]");
  if (choice) choice.value = "no";
  const text = form.querySelector("[data-follow-text]");
  if (text) text.textContent = gettext("You are following this thread: you are told about new posts in it.");
  const label = form.querySelector("[data-follow-label]");
  if (label) label.textContent = gettext("Unfollow");
}

// --- a session page: thread counts ---------------------------------------------------------

function sessionPage() {
  const sessionId = Number(body.dataset.sessionId || 0);
  if (!sessionId || !conferenceId || threadId) return;
  room(`conference:${conferenceId}`);
  socket.on("post:new", (post) => {
    if (post.session_id !== sessionId) return;
    const row = document.querySelector(`[data-thread-id="${post.thread_id}"]`);
    const count = row?.querySelector("[data-post-count]");
    if (count) setCount(count, Number(count.textContent || 0) + 1);
  });
  socket.on("conference:updated", (change) => {
    if (change.session_id !== sessionId) return;
    const notice = document.querySelector("[data-session-state]");
    const text = { open: gettext("This session is open now."), closed: gettext("This session has closed. You can still read it.") }[change.session_state];
    if (!text) return;
    if (notice) notice.textContent = text;
    announce(text);
  });
}

// --- a conference home: live activity ------------------------------------------------------

function conferenceHome() {
  const feed = document.querySelector("[data-activity-feed]");
  if (!feed || !conferenceId) return;
  // The aside is hidden in the page (without this code it would stay empty).
  const aside = feed.closest("[data-activity]");
  if (aside) aside.hidden = false;
  room(`conference:${conferenceId}`);
  socket.on("post:new", (post) => {
    if (!post.thread_title) return;
    document.querySelector("[data-activity-empty]")?.remove();
    const item = el("li", {},
      el("a", { class: "govuk-link", href: post.url }, post.thread_title), " — ",
      authorOrFormer(post.author));
    feed.prepend(item);
    while (feed.children.length > 10) feed.lastElementChild.remove();
    const session = document.querySelector(`[data-session-id="${post.session_id}"] [data-session-posts]`);
    if (session) setCount(session, Number(session.textContent || 0) + 1);
  });
  socket.on("conference:updated", (change) => {
    if (change.session_id) {
      const tag = document.querySelector(`[data-session-id="${change.session_id}"] [data-session-state]`);
      const label = { open: [gettext("Open now"), "govuk-tag--green"], closed: [gettext("Closed"), "govuk-tag--grey"] }[change.session_state];
      if (tag) tag.replaceChildren(...(label ? [el("strong", { class: `govuk-tag ${label[1]}` }, label[0])] : []));
    }
  });
}

// --- the moderation page: hear of new reports and queued posts ---------------------------

function moderationPage() {
  const conference = Number(body.dataset.moderation || 0);
  const status = document.querySelector("[data-moderation-live]");
  function tell(text) {
    if (status) {
      status.replaceChildren(document.createTextNode(text + " "),
        el("a", { class: "govuk-link", href: location.pathname }, gettext("Reload to review")));
    }
    announce(text);
  }
  function bump(selector, text) {
    const count = document.querySelector(selector);
    if (count) count.textContent = String(Number(count.textContent || 0) + 1);
    tell(text);
  }
  // Every join asks for the two counts as they are now: posts and reports that arrived before
  // the socket joined, or while it was away, came with no event this page heard.
  room(`moderation:${conference}`, {
    ask: { counts: true },
    onJoined(ack) {
      if (!ack.ok || !ack.counts) return;
      let changed = false;
      for (const [selector, value] of [["[data-pending-count]", ack.counts.pending], ["[data-flag-count]", ack.counts.flags]]) {
        const count = document.querySelector(selector);
        if (count && Number(count.textContent || 0) !== value) { count.textContent = String(value); changed = true; }
      }
      if (changed) tell(gettext("The queue changed while this page was not connected."));
    },
  });
  // A report's reason by its code, in this page's language (the event's reason_text is in the
  // reporter's).
  const reasons = {
    off_topic: gettext("Off-topic"), disrespectful: gettext("Disrespectful"),
    personal_information: gettext("Personal information"), spam: gettext("Spam"), other: gettext("Something else"),
  };
  socket.on("flag:new", (flag) => {
    const reason = reasons[flag.reason] || flag.reason_text;
    bump("[data-flag-count]", flag.hidden
      ? gettext("New report: %(reason)s (the post is now hidden).", { reason })
      : gettext("New report: %(reason)s.", { reason }));
  });
  socket.on("post:new", (post) => { if (post.status === "pending") bump("[data-pending-count]", gettext("A post from %(name)s is waiting for approval.", { name: authorOrFormer(post.author) })); });
}

// --- a panel page: questions, votes, "answering now" and answers, live --------------------

function panelPage() {
  const panelId = Number(body.dataset.panelId || 0);
  const list = document.querySelector("[data-questions]");
  if (!list) return;

  function renderAnswers(container, answers) {
    container.replaceChildren(...answers.map((a) => {
      const div = el("div", { class: "confer-answer", id: `answer-${a.id}` },
        el("p", { class: "govuk-body-s govuk-!-font-weight-bold" },
          a.speaker.organisation
            ? gettext("Answer from %(name)s, %(organisation)s", { name: authorName(a.speaker), organisation: a.speaker.organisation })
            : gettext("Answer from %(name)s", { name: authorName(a.speaker) })));
      const prose = el("div", { class: "confer-prose" });
      prose.innerHTML = a.html; // sanitised on the server
      div.append(prose);
      return div;
    }));
  }

  function setStatus(item, status) {
    item.dataset.status = status;
    item.classList.toggle("confer-question--answering", status === "answering");
    const label = { answering: [gettext("Answering now"), "govuk-tag--green"], answered: [gettext("Answered"), "govuk-tag--blue"],
      dismissed: [gettext("Dismissed"), "govuk-tag--grey"], pending: [gettext("Awaiting approval"), "govuk-tag--orange"] }[status];
    const slot = item.querySelector("[data-question-status]");
    if (slot) slot.replaceChildren(...(label ? [el("strong", { class: `govuk-tag ${label[1]}` }, label[0])] : []));
  }

  // The same forms as the page's own (templates/panels/show.html), for a question added live.
  const myId = Number(body.dataset.userId || 0);
  const questionUrl = (q) => `/c/${location.pathname.split("/")[2]}/panels/${panelId}/questions/${q.id}`;

  function voteForm(q) {
    return el("form", { method: "post", action: `${questionUrl(q)}/vote`, class: "confer-inline-form", "data-vote": true },
      csrfField(),
      el("button", { type: "submit", class: "govuk-button govuk-button--secondary govuk-!-margin-bottom-2" },
        gettext("Vote"), el("span", { class: "govuk-visually-hidden" }, " " + gettext("for this question"))));
  }

  function answerForm(q) {
    return el("form", { method: "post", action: `${questionUrl(q)}/answers`, "data-answer": true },
      csrfField(),
      el("div", { class: "govuk-form-group" },
        el("label", { class: "govuk-label", for: `answer-body-${q.id}` }, gettext("Your answer to this question")),
        el("textarea", { class: "govuk-textarea", id: `answer-body-${q.id}`, name: "body", rows: 3 })),
      el("button", { type: "submit", class: "govuk-button govuk-button--secondary", "data-module": "govuk-button" }, gettext("Answer")));
  }

  function addQuestion(q, { announceIt = true } = {}) {
    if (document.getElementById(`question-${q.id}`)) return false;
    list.querySelector("[data-no-questions]")?.remove();
    const item = el("li", { class: "confer-question", id: `question-${q.id}`, "data-question-id": q.id, "data-status": q.status },
      el("p", { class: "govuk-body-s confer-question__meta" },
        el("span", { "data-question-status": true }), " ",
        el("strong", { "data-vote-count": true, hidden: true }, String(q.vote_count)),
        el("strong", { "data-count-text": "votes" }, ngettext("%(num)d vote", "%(num)d votes", q.vote_count)), " — ",
        q.author.organisation
          ? gettext("asked by %(name)s (%(organisation)s), %(time)s", { name: authorName(q.author), organisation: q.author.organisation, time: shortTime(q) })
          : gettext("asked by %(name)s, %(time)s", { name: authorName(q.author), time: shortTime(q) })));
    const prose = el("div", { class: "confer-prose confer-question__body" });
    prose.innerHTML = q.html; // sanitised on the server
    const open = q.status === "open" || q.status === "answering";
    item.append(...[prose,
      list.dataset.canVote === "yes" && open && q.author.id !== myId && voteForm(q),
      el("div", { class: "confer-answers", "data-answers": true }),
      list.dataset.canAnswer === "yes" && (open || q.status === "answered") && answerForm(q),
      // A facilitator's tools (approve, answering now, dismiss, merge) come with the page.
      list.dataset.staff === "yes" &&
        el("p", { class: "govuk-body-s" }, el("a", { class: "govuk-link", href: location.pathname }, gettext("Reload for the facilitator's tools"))),
    ].filter(Boolean));
    setStatus(item, q.status);
    if (list.dataset.sort === "new") list.prepend(item); else list.append(item);
    if (announceIt) announce(gettext("New question from %(name)s", { name: authorName(q.author) }));
    return true;
  }

  // A question's votes, state and answers as `q` has them; whether it gained an answer.
  function refresh(item, q) {
    if (q.vote_count !== undefined) {
      const count = item.querySelector("[data-vote-count]");
      if (count) setCount(count, q.vote_count);
    }
    if (q.status) setStatus(item, q.status);
    if (!q.answers) return false;
    const before = item.querySelectorAll(".confer-answer").length;
    renderAnswers(item.querySelector("[data-answers]"), q.answers);
    return q.answers.length > before;
  }

  // Votes, answers and changes of state have no seq: every join asks for the questions
  // changed after the newest change number seen (less a margin, as for a thread's posts),
  // starting from the page's own.
  let lastChange = Number(body.dataset.lastChangeSeq || 0);
  const sawChange = (q) => { lastChange = Math.max(lastChange, q.change_seq || 0); };
  room(`panel:${panelId}`, {
    since: () => Math.max(0, lastChange - REJOIN_OVERLAP),
    onJoined(ack) {
      if (!ack.ok) return;
      if (ack.reload) { showNotice(gettext("A lot has changed while you were away.")); return; }
      let added = 0;
      let answered = 0;
      for (const q of ack.questions || []) {
        sawChange(q);
        const item = document.getElementById(`question-${q.id}`);
        if (!item) { if (q.status !== "pending" || q.mine) added += addQuestion(q, { announceIt: false }) ? 1 : 0; }
        else if (refresh(item, q)) answered += 1;
      }
      // Whole sentences: Welsh mutates and orders these differently.
      if (added && answered) {
        const questions = ngettext("%(num)d new question", "%(num)d new questions", added);
        const answers = ngettext("%(num)d new answer", "%(num)d new answers", answered);
        announce(gettext("%(questions)s and %(answers)s while you were away", { questions, answers }));
      } else if (added) {
        announce(ngettext("%(num)d new question while you were away", "%(num)d new questions while you were away", added));
      } else if (answered) {
        announce(ngettext("%(num)d new answer while you were away", "%(num)d new answers while you were away", answered));
      }
    },
  });
  function showNotice(text) {
    const notice = el("div", { class: "govuk-inset-text", role: "status" }, text + " ",
      el("a", { class: "govuk-link", href: location.pathname }, gettext("Reload the page")));
    list.before(notice);
  }
  socket.on("question:new", (q) => { if (q.session_id === panelId) { sawChange(q); addQuestion(q); } });
  socket.on("question:updated", (q) => {
    if (q.session_id !== panelId) return;
    sawChange(q);
    const item = document.getElementById(`question-${q.id}`);
    if (!item) { if (q.html && q.status !== "pending") addQuestion(q); return; }
    if (refresh(item, q)) announce(gettext("New answer from %(name)s", { name: authorName(q.answers[q.answers.length - 1].speaker) }));
  });
  socket.on("question:answering", (q) => {
    if (q.session_id !== panelId) return;
    for (const other of list.querySelectorAll('[data-status="answering"]')) if (Number(other.dataset.questionId) !== q.id) setStatus(other, "open");
    const item = document.getElementById(`question-${q.id}`);
    if (item) { setStatus(item, "answering"); list.prepend(item); }
    announce(gettext("The panel is answering a question now."));
  });
}

// --- the programme builder (templates/manage/_programme_parts.html) -----------------------
// The add-session form posts with fetch and receives the programme's list and forms as the
// page renders them: several sessions are added without a reload. That HTML is Confer's own
// template output (Jinja escapes every user text in it), the second exception to the rule at
// the top, like a post's sanitised `html`. Focus goes back to the title for the next session,
// or to the error summary; the outcome is announced. Without a script the form posts and the
// page comes back with a banner.
function programmeBuilder() {
  const parts = document.querySelector("[data-programme-parts]");
  if (!parts) return;
  let sending = false;
  parts.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-add-session]");
    if (!form) return;
    event.preventDefault();
    if (sending) return;
    sending = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    let data = null;
    try {
      const response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      data = await response.json();
    } catch {
      data = null;
    }
    sending = false;
    button.disabled = false;
    if (!data || typeof data.html !== "string") {
      form.submit(); // the ordinary way: the page comes back with what happened
      return;
    }
    const fresh = new DOMParser().parseFromString(data.html, "text/html").querySelector("[data-programme-parts]");
    if (!fresh) { form.submit(); return; }
    parts.replaceChildren(...fresh.childNodes);
    // Earlier errors at the top of the page (a plain post's) no longer apply.
    for (const old of document.querySelectorAll(".govuk-error-summary")) if (!parts.contains(old)) old.remove();
    const summary = parts.querySelector(".govuk-error-summary");
    if (summary) {
      summary.setAttribute("tabindex", "-1");
      summary.focus();
      return;
    }
    const added = data.session_id ? document.getElementById(`session-${data.session_id}`) : null;
    if (added) added.classList.add("confer-just-added");
    document.getElementById("session_title")?.focus();
    if (data.message) announce(data.message);
  });
}

// --- notifications: the header's unread count, on every page for a signed-in member -------

function notifications() {
  const count = document.querySelector("[data-unread-count]");
  if (!count || !body.dataset.userId) return;
  connect(); // the server puts every signed-in socket in its own user:<id> room
  // Every `notification` (a mention, a reply, a followed thread's new post, a reminder, and
  // what was done about you: your question answered or dismissed, muted, unmuted, your post
  // hidden or restored) carries the new unread count: the header shows it, and the text is
  // announced politely. A `notice` (a decision on your registration, pre-moderation) changes
  // no count: it is announced, and the count is left as it is.
  const showCount = (n) => {
    if (typeof n !== "number") return;
    count.textContent = n ? ` (${n > 99 ? "99+" : n})` : "";
  };
  socket.on("notification", (note) => {
    showCount(note.unread);
    if (note.text) announce(gettext("New notification: %(text)s", { text: note.text }));
  });
  const NOTICES = {
    "registration.approved": () => gettext("Your request to join the conference has been approved."),
    "registration.promoted": () => gettext("A place has come up and you now have it: you are a member of the conference."),
    "registration.waitlisted": () => gettext("You are on the waiting list for the conference."),
    "registration.declined": () => gettext("Your request to join the conference was declined."),
    "member.premoderate": () => gettext("A facilitator now approves your posts before others see them."),
    "member.unpremoderate": () => gettext("Your posts no longer need a facilitator's approval."),
  };
  socket.on("notice", (notice) => {
    const text = NOTICES[notice.kind];
    if (text) announce(text());
  });
}

if (body.dataset.moderation) moderationPage();
else if (body.dataset.panelId) panelPage();
else if (threadId) threadPage();
else if (body.dataset.sessionId) sessionPage();
else conferenceHome();
programmeBuilder();
notifications();
menuBadge();
uploads();

// --- file uploads with a progress bar (templates/files/*.html, forms marked data-upload) ---
// Without JavaScript the form posts as it is. With it, the same form is sent by
// XMLHttpRequest (fetch reports no upload progress) and a <progress> shows how much has gone;
// the answer replaces the page as the browser would have shown it: the page it redirected to,
// or the form again with its errors.

function uploads() {
  for (const form of document.querySelectorAll("form[data-upload]")) {
    const status = el("p", { class: "govuk-body-s", role: "status" });
    const bar = el("progress", { max: "100", value: "0", class: "confer-upload-progress" });
    const box = el("div", { class: "confer-upload", hidden: "" }, bar, status);
    bar.setAttribute("aria-label", gettext("Upload progress"));
    form.append(box);
    form.addEventListener("submit", (event) => {
      const file = form.querySelector('input[type="file"]');
      if (!file || !file.files.length) return; // nothing to show: the plain form goes
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      box.hidden = false;
      status.textContent = gettext("Uploading your file…");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const percent = Math.floor((e.loaded / e.total) * 100);
        bar.value = percent;
        status.textContent = gettext("Uploading: %(percent)s%% sent", { percent });
      });
      xhr.upload.addEventListener("load", () => {
        bar.value = 100;
        status.textContent = gettext("Uploaded. Checking the file…");
      });
      xhr.addEventListener("load", () => {
        if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) {
          window.location.assign(xhr.responseURL);
          return;
        }
        // The form again, with what went wrong: the page as the server wrote it.
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        const main = page.querySelector("main");
        const here = document.querySelector("main");
        if (main && here) {
          here.replaceWith(document.importNode(main, true));
          document.title = page.title;
          const summary = document.querySelector(".govuk-error-summary");
          if (summary) {
            summary.setAttribute("tabindex", "-1");
            summary.focus();
          }
        } else {
          status.textContent = gettext("The file could not be uploaded. Try again.");
          if (button) button.disabled = false;
        }
      });
      xhr.addEventListener("error", () => {
        status.textContent = gettext("The file could not be uploaded. Check your connection and try again.");
        if (button) button.disabled = false;
      });
      xhr.send(new FormData(form));
    });
  }
}

// --- the Menu button's unread count (base.html [data-unread-badge]), for phones (#23) ------
// A phone shows the Menu button with the list shut: its count follows every `notification`.

function menuBadge() {
  const badge = document.querySelector("[data-unread-badge]");
  if (!badge || !body.dataset.userId) return;
  connect();
  socket.on("notification", (note) => {
    if (typeof note.unread !== "number") return;
    badge.hidden = !note.unread;
    badge.querySelector("[data-unread-number]").textContent = note.unread > 99 ? "99+" : String(note.unread);
    badge.querySelector("[data-unread-words]").textContent = ngettext("%(num)d unread notification", "%(num)d unread notifications", note.unread);
  });
}
