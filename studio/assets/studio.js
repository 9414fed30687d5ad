// tsunagu flow studio: the page. Plain JavaScript, no build step: the
// binary serves this file as written. Every text a person reads is in the
// dictionary below, Japanese first.
"use strict";

// ---------------------------------------------------------------- words

const WORDS = {
  ja: {
    title: "つなぐ フロースタジオ", loading: "読み込み中…",
    tab_problems: "問題", tab_map: "地図", tab_try: "試す", tab_tests: "テスト", tab_bench: "振り分けベンチ",
    status_ok: "問題なし", status_problems: (n) => `問題が ${n} 件あります`, status_error: "フローを読めません",
    reloaded: (t) => `読み込み ${t}`, read_only: "組み込みのフロー（読むだけ）",
    banner_problems: "フローに問題があります。直すまで、このフローは動かしません（試す・テスト・ベンチも使えません）。「問題」を見てください。",
    banner_error: (e) => `フローを読めません: ${e}`,
    problems_hint: "フローのファイルを調べた結果です。場所をクリックすると、そのあたりの行が出ます。ファイルを保存すると、すぐに調べ直します。",
    problems_none: "問題はありません。", problems_english: "（この説明はまだ英語だけです）",
    map_hint: "会話の流れの図です。状態（四角）をクリックすると、その文を言語ごとに並べて見られます。危機・人と話したい・削除・言語は、どの状態からでも行けるので、線は省いています。",
    map_pick: "状態をクリックしてください。", map_states: "状態の一覧", map_error: "図を描けません",
    map_zoom: "拡大する", map_fit: "全体を見る", map_here: "オレンジの枠は「試す」の会話の今の状態です。",
    st_start: "最初の状態", st_handoff: "相談員につなぐ", st_urgent: "至急", st_crisis: "危機のときの行き先",
    st_message: "メッセージ", st_button: (n) => `ボタン ${n}`, st_missing: "（未記入）",
    st_text_next: (s) => `文が来たら → ${s}`, st_text_found: (a, b) => `文が来たら → 分類が見つかった: ${a} ／ 見つからない: ${b}`,
    st_goes: (s) => `→ ${s}`, st_where: "書いた場所",
    try_locale: "住民の言語", try_clock: "時刻", try_restart: "やりなおす", try_save: "この会話をテストにする",
    clock_custom: "日時を選ぶ…", clock_now: "いま",
    clocks: ["平日 10:00", "平日 21:00", "土曜 10:00", "日曜 15:00", "祝日 10:00（勤労感謝の日）", "年末 10:00（12月30日）"],
    try_restarted: "会話をはじめからにしました。", try_flow_changed: "フローが変わりました。次のメッセージから新しいフローで答えます。",
    save_name: "テストの名前", save_go: "保存する", cancel: "やめる", save_default: (s) => `会話: ${s}`,
    save_empty: "まだ何も話していません。", save_done: (f) => `${f} に保存しました。テストを実行しています…`,
    save_pass: (n) => `テスト「${n}」は合格しました。`, save_fail: (n) => `テスト「${n}」は不合格です。「テスト」を見てください。`,
    save_readonly: "組み込みのフローにはテストを保存できません。--flow でフォルダーを指定して起動してください。",
    follow: "友だち追加から始める", ev_follow: "（友だち追加）",
    sticker: "スタンプ", image: "画像", say_placeholder: "住民として書いてみる", send: "送る",
    staff_close: "相談員が相談を終える",
    ev_sticker: "（スタンプ）", ev_image: "（画像）", ev_case_closed: "相談員が相談を終えました", ev_other: (e) => `（${e}）`,
    handoff: "相談員につなぎました", handoff_urgent: "至急で相談員につなぎました",
    handoff_case: (c) => `相談 ${c}`, handoff_to: "担当", handoff_crisis: "危機", handoff_compound: "複合的な相談（多機関協働にも）",
    handoff_checked: (a) => `安全の確認の答え: ${a}`, handoff_reopen: (c) => `前の相談 ${c} の続き`,
    relay: (c) => `住民の言葉を相談員に届けました（${c}）`, retriage: (c, cats) => `相談員に候補を伝えました（${c}）: ${cats}`, check: (k) => `安全の確認を尋ねました（${k}）`,
    erase: "住民の記録をすべて消しました", locale: (l) => `言語が変わりました: ${l}`, other_action: (n) => `ほかの動き: ${n}`,
    state_after: (s) => `→ 状態 ${s}`,
    why_title: "なぜ（振り分けが見たもの）", why_hint: "住民のメッセージをクリックすると、そのメッセージについて出ます。",
    why_read: "読みそろえた文", why_words: "単語（基本形・読み）", why_grammar: "灰色は文法の言葉",
    why_this: "このメッセージだけ", why_together: "最近のメッセージを合わせて（会話はこちらで動きます）",
    why_crisis: (k) => `危機: ${k}`, why_check: (k) => `安全の確認: ${k}`, why_calm: "危機の言葉はありません",
    why_rule: (k) => `危機のルール「${k}」`, why_rule_check: (k) => `「${k}」の確認`, why_lowered: (c) => `「${c}」の文脈があるので、危機から確認に下げました`,
    why_matched: "当たった言葉", why_categories: "分類（上ほど先）", why_no_category: "分類は見つかりません（よろず相談へ）",
    why_words_for: "当たった言葉", why_patterns: "複合的な課題",
    tests_run: "テストを実行する", tests_failed_only: "不合格だけ表示",
    tests_summary: (p, f) => `${p} 件合格、${f} 件不合格`, tests_none: "テストはまだありません。「試す」で会話をして「この会話をテストにする」を押すと作れます。",
    tests_fresh: "いま保存したテスト", tests_all: "すべてのテスト",
    tests_pass: "合格", tests_fail: "不合格", tests_problems: "テストのファイルの問題", tests_running: "実行中…",
    bench_hint: "住民が書きそうな文を 1 行に 1 つ貼り付けるか、ファイルを選びます。「ラベル（タブ）文」の形（crisis / crisis:種類 / calm / calm:カテゴリ）なら、正しいかどうかも数えます。最初の結果が「前」になり、フローを保存するたびに「今」と比べます。",
    bench_run: "判定する", bench_pin: "今の結果を「前」にする", bench_changed_only: "変わったものだけ表示",
    bench_before: "前", bench_now: "今", bench_messages: "メッセージ", bench_crisis: "危機", bench_check: "安全の確認", bench_calm: "危機なし",
    bench_caught: "拾えた危機（危機か確認）", bench_alarmed: "そのうち危機の判定", bench_false: "空振り（落ち着いた文に危機）",
    bench_checks_calm: "落ち着いた文に確認", bench_top2: "分類が上位 2 つに入った", bench_kind: "危機の種類が正しい",
    bench_text: "メッセージ", bench_label: "ラベル", bench_categories: "分類", bench_why: "なぜ", bench_changed: "変わった",
    bench_changed_n: (n) => `前と変わったもの: ${n} 件`,
    outcome: { caught: "拾えた", checked: "確認で拾えた", missed: "見逃し", false_alarm: "空振り", check_on_calm: "確認（落ち着いた文）", misrouted: "分類ちがい", right: "正しい" },
    verdict_crisis: (k) => `危機（${k}）`, verdict_check: (k) => `確認（${k}）`, verdict_calm: "—",
    failed: "うまくいきませんでした", answer: { yes: "はい", unsure: "わからない", no: "いいえ" },
    kinds: { suicide: "自殺", self_harm: "自傷", child_abuse: "子どもの虐待", elder_abuse: "高齢者の虐待", dv: "DV", sexual_violence: "性暴力", violence: "暴力", medical: "急病・命にかかわる体の状態" },
    lowers: { joke: "冗談", hyperbole: "大げさな言い方", topic: "話題（統計・授業・ニュース…）", past: "過去のこと", things: "物やペットのこと" },
  },
  en: {
    title: "tsunagu flow studio", loading: "Loading…",
    tab_problems: "Problems", tab_map: "Map", tab_try: "Try", tab_tests: "Tests", tab_bench: "Triage bench",
    status_ok: "No problems", status_problems: (n) => `${n} problem${n === 1 ? "" : "s"}`, status_error: "Cannot read the flow",
    reloaded: (t) => `Loaded ${t}`, read_only: "Built-in flow (read only)",
    banner_problems: "The flow has problems. Until they are fixed it is not run (Try, Tests and the bench are off). See Problems.",
    banner_error: (e) => `Cannot read the flow: ${e}`,
    problems_hint: "What the check found in the flow's files. Click a place to see the lines around it. Saving a file checks again at once.",
    problems_none: "No problems.", problems_english: "",
    map_hint: "The states of the conversation. Click a state to see its texts in every language side by side. Crisis, asking for a person, delete and language work from every state, so their arrows are left out.",
    map_pick: "Click a state.", map_states: "All states", map_error: "The map cannot be drawn",
    map_zoom: "Zoom in", map_fit: "Fit to the page", map_here: "The orange frame is where the conversation in Try is now.",
    st_start: "first state", st_handoff: "hands to a person", st_urgent: "urgent", st_crisis: "where every crisis goes",
    st_message: "Message", st_button: (n) => `Button ${n}`, st_missing: "(missing)",
    st_text_next: (s) => `Typed text → ${s}`, st_text_found: (a, b) => `Typed text → need found: ${a} / none found: ${b}`,
    st_goes: (s) => `→ ${s}`, st_where: "written at",
    try_locale: "Resident's language", try_clock: "Time", try_restart: "Start over", try_save: "Keep this conversation as a test",
    clock_custom: "Pick a date and time…", clock_now: "Now",
    clocks: ["Weekday 10:00", "Weekday 21:00", "Saturday 10:00", "Sunday 15:00", "Holiday 10:00 (Labour Thanksgiving Day)", "Year end 10:00 (30 December)"],
    try_restarted: "The conversation starts again.", try_flow_changed: "The flow changed. From the next message on, the new flow answers.",
    save_name: "Test name", save_go: "Save", cancel: "Cancel", save_default: (s) => `Conversation: ${s}`,
    save_empty: "Nothing was said yet.", save_done: (f) => `Saved as ${f}. Running the tests…`,
    save_pass: (n) => `Test "${n}" passes.`, save_fail: (n) => `Test "${n}" fails. See Tests.`,
    save_readonly: "Tests cannot be saved into the built-in flow. Start the studio with --flow and a folder.",
    follow: "Start by adding the account as a friend", ev_follow: "(added as a friend)",
    sticker: "Sticker", image: "Image", say_placeholder: "Write as a resident", send: "Send",
    staff_close: "Staff close the case",
    ev_sticker: "(sticker)", ev_image: "(image)", ev_case_closed: "Staff closed the case", ev_other: (e) => `(${e})`,
    handoff: "Handed to a person", handoff_urgent: "URGENT: handed to a person",
    handoff_case: (c) => `case ${c}`, handoff_to: "to", handoff_crisis: "crisis", handoff_compound: "compound need (also to coordination)",
    handoff_checked: (a) => `safety check answered: ${a}`, handoff_reopen: (c) => `follows case ${c}`,
    relay: (c) => `The resident's words reached staff (${c})`, retriage: (c, cats) => `Suggested to staff (${c}): ${cats}`, check: (k) => `Safety check asked (${k})`,
    erase: "Everything about the resident was erased", locale: (l) => `Language changed: ${l}`, other_action: (n) => `Other action: ${n}`,
    state_after: (s) => `→ state ${s}`,
    why_title: "Why (what triage saw)", why_hint: "Click a resident's message to see it for that message.",
    why_read: "Text as read (folded)", why_words: "Words (dictionary form, reading)", why_grammar: "grey: grammar words",
    why_this: "This message alone", why_together: "Recent messages together (what the conversation acts on)",
    why_crisis: (k) => `Crisis: ${k}`, why_check: (k) => `Safety check: ${k}`, why_calm: "No crisis words",
    why_rule: (k) => `crisis rule "${k}"`, why_rule_check: (k) => `check for "${k}"`, why_lowered: (c) => `lowered from crisis to the check by the context "${c}"`,
    why_matched: "matched", why_categories: "Categories (best first)", why_no_category: "No category found (goes to general)",
    why_words_for: "words", why_patterns: "Compound needs",
    tests_run: "Run the tests", tests_failed_only: "Show failures only",
    tests_summary: (p, f) => `${p} passed, ${f} failed`, tests_none: "No tests yet. Have a conversation in Try and press \"Keep this conversation as a test\".",
    tests_fresh: "The test just kept", tests_all: "All tests",
    tests_pass: "PASS", tests_fail: "FAIL", tests_problems: "Problems in the test files", tests_running: "Running…",
    bench_hint: "Paste messages a resident might write, one per line, or choose a file. Lines written LABEL<TAB>message (crisis / crisis:KIND / calm / calm:CATEGORY) are also scored. The first result becomes \"before\"; each save of the flow is compared with it.",
    bench_run: "Triage", bench_pin: "Make this \"before\"", bench_changed_only: "Show changes only",
    bench_before: "Before", bench_now: "Now", bench_messages: "Messages", bench_crisis: "Crisis", bench_check: "Safety check", bench_calm: "No crisis",
    bench_caught: "Crises caught (crisis or check)", bench_alarmed: "of which crisis verdicts", bench_false: "False alarms on calm",
    bench_checks_calm: "Checks on calm", bench_top2: "Category in the top two", bench_kind: "Crisis kind right",
    bench_text: "Message", bench_label: "Label", bench_categories: "Categories", bench_why: "Why", bench_changed: "changed",
    bench_changed_n: (n) => `Changed since before: ${n}`,
    outcome: { caught: "caught", checked: "caught by the check", missed: "missed", false_alarm: "false alarm", check_on_calm: "check on calm", misrouted: "misrouted", right: "right" },
    verdict_crisis: (k) => `crisis (${k})`, verdict_check: (k) => `check (${k})`, verdict_calm: "—",
    failed: "That did not work", answer: { yes: "yes", unsure: "not sure", no: "no" },
    kinds: {},
    lowers: {},
  },
};

// The clock presets: the Japanese week of the default flow's tests, so a
// conversation and its test see the same day.
const CLOCKS = [
  "2026-11-25T10:00:00+09:00", "2026-11-25T21:00:00+09:00", "2026-11-28T10:00:00+09:00",
  "2026-11-29T15:00:00+09:00", "2026-11-23T10:00:00+09:00", "2026-12-30T10:00:00+09:00",
];

let lang = localStorage.getItem("studio.lang") === "en" ? "en" : "ja";

function t(key, ...args) {
  const w = WORDS[lang][key] ?? WORDS.ja[key];
  return typeof w === "function" ? w(...args) : w;
}
function kindName(k) { return (WORDS[lang].kinds[k] ?? k) || ""; }
function lowerName(c) { return WORDS[lang].lowers[c] ?? c; }
function answerName(a) { return WORDS[lang].answer[a] ?? a; }

// ---------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch("/api/" + path, opts);
  const data = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function categoryName(id) {
  const c = (flow?.categories || []).find((c) => c.id === id);
  if (!c) return id;
  return c.name[lang] || c.name[flow.locales[0]?.id] || id;
}

function timeOf(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB", { hour12: false });
}

// ---------------------------------------------------------------- state

let flow = null;          // FlowView
let tab = location.hash.slice(1) || "map";
let testsResult = null;
let renderedGraph = null;
let selectedState = null;

const conv = { session: {}, turns: [], whys: [], at: CLOCKS[0], locale: "", version: 0, selected: -1 };
const bench = { text: "", before: null, now: null };

// ---------------------------------------------------------------- tabs & words

function showTab(name) {
  tab = name;
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== "tab-" + name;
  for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", b.dataset.tab === name ? "true" : "false");
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
  if (name === "map") drawMap();
  if (name === "tests" && !testsResult) loadTests();
}

function applyWords() {
  document.documentElement.lang = lang;
  $("ui-lang").textContent = lang === "ja" ? "English" : "日本語";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-title]")) e.title = t(e.dataset.i18nTitle);
  for (const e of document.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = t(e.dataset.i18nPlaceholder);
  document.title = t("title");
  fillClockSelect();
  if (flow) renderFlow();
  renderChat();
  renderWhy();
  renderTests();
  renderBench();
}

// ---------------------------------------------------------------- flow

async function loadFlow() {
  const prev = flow;
  flow = await api("flow");
  if (prev && prev.version !== flow.version && conv.turns.length > 0) {
    note(t("try_flow_changed"));
  }
  renderFlow();
  if (flow.problems.length > 0 && (!prev || prev.problems.length === 0)) showTab("problems");
  if (tab === "map") drawMap();
  if (testsResult || tab === "tests") loadTests();
  if (bench.now) runBench(false);
}

function renderFlow() {
  $("flow-name").textContent = flow.name || "";
  $("flow-dir").textContent = flow.read_only ? t("read_only") : flow.dir;
  const st = $("status");
  if (flow.error) {
    st.dataset.state = "error"; st.textContent = t("status_error");
  } else if (flow.problems.length > 0) {
    st.dataset.state = "problems"; st.textContent = t("status_problems", flow.problems.length);
  } else {
    st.dataset.state = "ok"; st.textContent = t("status_ok");
  }
  $("reloaded").textContent = t("reloaded", timeOf(flow.loaded));
  $("problem-count").textContent = flow.problems.length ? String(flow.problems.length) : "";
  const banner = $("banner");
  banner.hidden = flow.runnable;
  banner.textContent = flow.error ? t("banner_error", flow.error) : t("banner_problems");
  for (const id of ["send", "send-sticker", "send-image", "send-close", "say", "try-save", "tests-run", "bench-run"]) $(id).disabled = !flow.runnable;
  renderProblems();
  fillLocaleSelect();
  renderStateList();
  if (selectedState) showState(selectedState);
}

// ---------------------------------------------------------------- problems

function renderProblems() {
  const box = $("problems");
  box.replaceChildren();
  if (flow.error) box.append(el("p", { class: "error" }, flow.error));
  if (flow.problems.length === 0 && !flow.error) {
    box.append(el("p", { class: "ok" }, t("problems_none")));
    return;
  }
  box.append(problemList(flow.problems));
}

// opened are the problems whose lines are shown; they stay open when the
// page is drawn again (another language, a reload with the same problem).
const opened = new Set();

function problemList(problems) {
  const list = el("ol", { class: "problems" });
  for (const p of problems) {
    const where = `${p.file}:${p.line}:${p.col}`;
    const key = where + " " + p.message;
    const msg = lang === "ja" && p.message_ja ? p.message_ja : p.message;
    const english = lang === "ja" && !p.message_ja ? el("span", { class: "note" }, t("problems_english")) : null;
    const lines = p.excerpt ? excerptView(p.excerpt, p.line) : null;
    if (lines) lines.hidden = !opened.has(key);
    const link = el("a", { href: "#", class: "where", onclick: (e) => {
      e.preventDefault();
      if (!lines) return;
      lines.hidden = !lines.hidden;
      if (lines.hidden) opened.delete(key); else opened.add(key);
    } }, where);
    list.append(el("li", { class: "problem" }, link, " ", el("span", { class: "msg" }, msg), english, lines));
  }
  return list;
}

function excerptView(ex, line) {
  const pre = el("pre", { class: "excerpt" });
  ex.lines.forEach((text, i) => {
    const n = ex.first + i;
    pre.append(el("span", { class: n === line ? "line hit" : "line" }, el("span", { class: "ln" }, String(n).padStart(4, " ")), "  ", text, "\n"));
  });
  return pre;
}

// ---------------------------------------------------------------- map

// drawMap draws the flow's map once per change of the flow. Renders are
// never run side by side: mermaid measures text in a scratch element per
// render, and two at once spoil each other.
let drawing = null;
let drawSeq = 0;
async function drawMap() {
  if (!flow || tab !== "map") return;
  const box = $("map");
  if (!flow.graph) {
    box.replaceChildren(el("p", { class: "error" }, t("map_error"), flow.graph_error ? ": " + flow.graph_error : ""));
    renderedGraph = null;
    return;
  }
  if (renderedGraph === flow.graph && box.querySelector("svg g.node")) { markMap(); return; }
  if (drawing) { drawing.then(drawMap); return; }
  if (!window.mermaid) { setTimeout(drawMap, 50); return; }
  const text = flow.graph;
  drawing = (async () => {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default", maxTextSize: 500000,
      fontFamily: "'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', Meiryo, 'IPAPGothic', sans-serif" });
    try {
      const { svg } = await window.mermaid.render("map-svg-" + (++drawSeq), text);
      box.innerHTML = svg;
      renderedGraph = text;
      wireMap();
    } catch (e) {
      box.replaceChildren(el("p", { class: "error" }, t("map_error"), ": " + e.message));
      renderedGraph = null;
    }
  })();
  await drawing;
  drawing = null;
  if (flow.graph !== text) drawMap(); // a newer flow arrived meanwhile
}

// stateOfNode finds the state id a drawn node stands for.
function stateOfNode(g) {
  const ids = new Set((flow.states || []).map((s) => s.id));
  const label = g.querySelector(".nodeLabel, text")?.textContent?.trim();
  if (label && ids.has(label)) return label;
  if (g.dataset.id && ids.has(g.dataset.id)) return g.dataset.id;
  const m = /^state-(.+)-\d+$/.exec(g.id || "");
  if (m && ids.has(m[1])) return m[1];
  return null;
}

// zoom shows the map at its natural size, to be scrolled, or fitted to the page.
let zoomed = false;
function zoom() {
  const box = $("map");
  box.classList.toggle("zoomed", zoomed);
  const svg = box.querySelector("svg");
  if (svg) svg.style.width = zoomed && svg.viewBox?.baseVal?.width ? svg.viewBox.baseVal.width + "px" : "";
  $("map-zoom").textContent = zoomed ? t("map_fit") : t("map_zoom");
}

function wireMap() {
  zoom();
  for (const g of $("map").querySelectorAll("g.node")) {
    const id = stateOfNode(g);
    if (!id) continue;
    g.classList.add("state-node");
    g.dataset.state = id;
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.addEventListener("click", () => showState(id));
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") showState(id); });
  }
  markMap();
}

function markMap() {
  for (const g of $("map").querySelectorAll("g.state-node")) {
    g.classList.toggle("picked", g.dataset.state === selectedState);
    g.classList.toggle("here", !!conv.session.s && g.dataset.state === conv.session.s);
  }
}

function renderStateList() {
  const box = $("state-list");
  box.replaceChildren(el("h3", {}, t("map_states")));
  for (const s of flow.states || []) {
    box.append(el("button", { type: "button", class: "state-chip" + (s.urgent ? " urgent" : s.handoff ? " handoff" : ""), "data-state": s.id, onclick: () => showState(s.id) }, s.id));
  }
  box.append(el("p", { class: "hint" }, t("map_here")));
}

function showState(id) {
  selectedState = id;
  const s = (flow.states || []).find((s) => s.id === id);
  const panel = $("state-panel");
  if (!s) { panel.replaceChildren(el("p", { class: "hint" }, t("map_pick"))); return; }
  const badges = [];
  if (s.start) badges.push(el("span", { class: "badge" }, t("st_start")));
  if (s.handoff) badges.push(el("span", { class: "badge handoff" }, t("st_handoff")));
  if (s.urgent) badges.push(el("span", { class: "badge urgent" }, t("st_urgent")));
  if (s.crisis) badges.push(el("span", { class: "badge urgent" }, t("st_crisis")));
  const head = el("tr", {}, el("th", {}, ""), flow.locales.map((l) => el("th", {}, `${l.name} (${l.id})`)));
  const rows = s.texts.map((tv) => {
    const what = tv.what === "message" ? t("st_message") : t("st_button", tv.button);
    const extra = [];
    if (tv.next) extra.push(t("st_goes", tv.next));
    if (tv.category) extra.push(categoryName(tv.category));
    return el("tr", {},
      el("th", { class: "what" }, what, extra.length ? el("div", { class: "sub" }, extra.join(" · ")) : null,
        tv.file ? el("div", { class: "sub where" }, `${tv.file}:${tv.line}`) : null),
      flow.locales.map((l) => tv.by_locale[l.id] !== undefined
        ? el("td", { lang: l.id.startsWith("ja") || l.id.startsWith("easy") ? "ja" : l.id }, tv.by_locale[l.id])
        : el("td", { class: "missing" }, t("st_missing"))));
  });
  let route = null;
  if (s.text_next) route = t("st_text_next", s.text_next);
  else if (s.text_found || s.text_not_found) route = t("st_text_found", s.text_found, s.text_not_found);
  panel.replaceChildren(
    el("h2", { id: "state-title" }, s.id, " ", badges),
    el("table", { class: "texts" }, el("thead", {}, head), el("tbody", {}, rows)),
    route ? el("p", { class: "route" }, route) : null,
  );
  markMap();
}

// ---------------------------------------------------------------- try

function fillLocaleSelect() {
  const sel = $("try-locale");
  const cur = conv.locale || sel.value;
  sel.replaceChildren(...(flow.locales || []).map((l) => el("option", { value: l.id }, l.name)));
  if (cur && (flow.locales || []).some((l) => l.id === cur)) sel.value = cur;
  conv.locale = sel.value;
}

function fillClockSelect() {
  const sel = $("try-clock");
  const cur = sel.value;
  const opts = WORDS[lang].clocks.map((label, i) => el("option", { value: CLOCKS[i] }, label));
  opts.push(el("option", { value: "now" }, t("clock_now")));
  opts.push(el("option", { value: "custom" }, t("clock_custom")));
  sel.replaceChildren(...opts);
  sel.value = cur || conv.at;
  if (!sel.value) sel.value = CLOCKS[0];
}

// isoJST writes a local date-time (from the picker or the computer's clock) as Japanese time.
function isoJST(d) {
  const jst = new Date(d.getTime() + 9 * 3600 * 1000);
  return jst.toISOString().slice(0, 19) + "+09:00";
}

function clockChanged() {
  const sel = $("try-clock");
  const custom = $("try-clock-custom");
  custom.hidden = sel.value !== "custom";
  if (sel.value === "now") conv.at = isoJST(new Date());
  else if (sel.value === "custom") {
    if (!custom.value) return;
    conv.at = custom.value.length === 16 ? custom.value + ":00+09:00" : custom.value + "+09:00";
  } else conv.at = sel.value;
  restart();
}

function restart(quiet) {
  conv.session = conv.locale ? { l: conv.locale } : {};
  conv.turns = []; conv.whys = []; conv.selected = -1; conv.log = [];
  conv.version = flow ? flow.version : 0;
  $("save-form").hidden = true;
  $("save-result").hidden = true;
  renderChat();
  renderWhy();
  if (!quiet) note(t("try_restarted"));
}

function note(text) {
  conv.log = conv.log || [];
  conv.log.push({ type: "note", text });
  renderChat();
}

async function play(turn) {
  if (!flow?.runnable) return;
  const index = conv.turns.length;
  try {
    const res = await api("step", { session: conv.session, turn, at: conv.at, index });
    conv.session = res.session;
    conv.turns.push(turn);
    conv.whys.push(res.why || null);
    conv.log.push({ type: "resident", turn, index });
    for (const it of res.items) {
      conv.log.push({ type: "item", item: it, index });
      if (it.type === "locale") { conv.locale = it.locale; $("try-locale").value = it.locale; }
    }
    conv.log.push({ type: "state", state: res.session.s, index });
    if (res.why) conv.selected = index;
  } catch (e) {
    conv.log.push({ type: "error", text: `${t("failed")}: ${e.message}` });
  }
  renderChat();
  renderWhy();
  markMap();
}

function residentText(turn) {
  if (turn.kind === "say") return turn.text;
  if (turn.kind === "choose") return turn.label;
  if (turn.event === "follow") return t("ev_follow");
  if (turn.event === "sticker") return t("ev_sticker");
  if (turn.event === "image") return t("ev_image");
  if (turn.event === "case_closed") return t("ev_case_closed");
  return t("ev_other", turn.event);
}

// bubbleText writes a reply, with the lines that give a number picked out.
function bubbleText(text) {
  const box = el("div", { class: "bubble-text" });
  for (const line of text.split("\n")) {
    if (/^[☎🔗]/.test(line)) box.append(el("div", { class: "number" }, line));
    else box.append(el("div", {}, line || "\u00a0"));
  }
  return box;
}

function eventView(it) {
  switch (it.type) {
    case "handoff": {
      const parts = [t("handoff_case", it.case), `${t("handoff_to")}: ${(it.categories || []).map(categoryName).join("・")}`];
      if (it.crisis) parts.push(`${t("handoff_crisis")}: ${kindName(it.crisis)}`);
      if (it.compound) parts.push(t("handoff_compound"));
      if (it.checked) parts.push(t("handoff_checked", answerName(it.checked)));
      if (it.reopen) parts.push(t("handoff_reopen", it.reopen));
      return el("div", { class: "event handoff" + (it.urgent ? " urgent" : ""), "data-urgent": it.urgent ? "true" : "false" },
        el("strong", {}, it.urgent ? t("handoff_urgent") : t("handoff")), el("div", { class: "sub" }, parts.join(" · ")));
    }
    case "relay": return el("div", { class: "event relay" }, t("relay", it.case));
    case "retriage": return el("div", { class: "event relay" }, t("retriage", it.case, (it.categories || []).map(categoryName).join("・")));
    case "check": return el("div", { class: "event check" }, t("check", kindName(it.kind)));
    case "erase": return el("div", { class: "event erase" }, t("erase"));
    case "locale": return el("div", { class: "event" }, t("locale", it.locale));
    default: return el("div", { class: "event other" }, t("other_action", it.name || it.type), it.detail ? el("code", {}, " " + it.detail) : null);
  }
}

function renderChat() {
  const box = $("chat");
  if (!box) return;
  box.replaceChildren();
  const log = conv.log || [];
  for (const entry of log) {
    if (entry.type === "resident") {
      const selectable = entry.turn.kind === "say";
      box.append(el("div", { class: "row resident" },
        el("div", { class: "bubble resident" + (selectable ? " selectable" : "") + (conv.selected === entry.index ? " selected" : ""),
          "data-index": entry.index, onclick: selectable ? () => { conv.selected = entry.index; renderChat(); renderWhy(); } : null },
          residentText(entry.turn))));
    } else if (entry.type === "item") {
      const it = entry.item;
      if (it.type === "reply") box.append(el("div", { class: "row bot" }, el("div", { class: "bubble bot" }, bubbleText(it.text))));
      else box.append(eventView(it));
    } else if (entry.type === "state") {
      box.append(el("div", { class: "state-tag" }, t("state_after", entry.state)));
    } else if (entry.type === "note") {
      box.append(el("div", { class: "note-line" }, entry.text));
    } else if (entry.type === "error") {
      box.append(el("div", { class: "note-line error" }, entry.text));
    }
  }
  box.scrollTop = box.scrollHeight;
  // Like LINE, only the last message's buttons can be pressed.
  const last = conv.turns.length - 1;
  let buttons = [];
  for (const entry of log) {
    if (entry.type === "item" && entry.index === last && entry.item.type === "reply" && entry.item.quick_replies?.length) buttons = entry.item.quick_replies;
  }
  const quick = $("quick");
  quick.replaceChildren();
  const off = !flow?.runnable;
  for (const b of buttons) {
    quick.append(el("button", { type: "button", class: "quick-reply", disabled: off, onclick: () => play({ kind: "choose", label: b.label, data: b.data }) }, b.label));
  }
  if (conv.turns.length === 0) {
    quick.append(el("button", { type: "button", class: "quick-reply follow", id: "send-follow", disabled: off, onclick: () => play({ kind: "event", event: "follow" }) }, t("follow")));
  }
  $("phone-title").textContent = flow?.name || "";
}

// ---------------------------------------------------------------- why

function verdictView(v) {
  const box = el("div", { class: "verdict" });
  if (v.crisis) box.append(el("div", { class: "badge urgent big" }, t("why_crisis", kindName(v.kind))));
  else if (v.check) box.append(el("div", { class: "badge check big" }, t("why_check", kindName(v.kind))));
  else box.append(el("div", { class: "badge calm big" }, t("why_calm")));
  const crisis = v.reasons.filter((r) => r.type === "crisis" || r.type === "check");
  if (crisis.length) {
    box.append(el("ul", { class: "reasons" }, crisis.map((r) => el("li", { class: "reason " + r.type },
      el("strong", {}, r.type === "crisis" ? t("why_rule", kindName(r.kind)) : t("why_rule_check", kindName(r.kind))), " — ",
      t("why_matched"), ": ", el("code", {}, r.matched.join(", ")),
      r.lowered_by ? el("div", { class: "lowered" }, t("why_lowered", lowerName(r.lowered_by))) : null))));
  }
  const byCat = {};
  for (const r of v.reasons) if (r.type === "category") byCat[r.category] = r.matched;
  box.append(el("h4", {}, t("why_categories")));
  if (!v.categories.length) box.append(el("p", { class: "hint" }, t("why_no_category")));
  else box.append(el("ol", { class: "categories" }, v.categories.map((c) => el("li", {},
    el("strong", {}, categoryName(c)), byCat[c] ? [" — ", t("why_words_for"), ": ", el("code", {}, byCat[c].join(", "))] : null))));
  if (v.patterns?.length) box.append(el("p", {}, t("why_patterns"), ": ", v.patterns.join(", ")));
  const other = v.reasons.filter((r) => r.type === "other");
  if (other.length) box.append(el("ul", { class: "reasons other" }, other.map((r) => el("li", {}, el("code", {}, r.line)))));
  return box;
}

function renderWhy() {
  const body = $("why-body");
  if (!body) return;
  body.replaceChildren();
  const w = conv.whys[conv.selected];
  if (!w) return;
  body.append(el("p", { class: "why-message" }, "「", w.text, "」"));
  body.append(el("h4", {}, t("why_read")));
  body.append(el("ul", { class: "sentences" }, (w.sentences || []).map((s) => el("li", {}, el("code", {}, s.text)))));
  body.append(el("h4", {}, t("why_words"), " ", el("span", { class: "hint" }, t("why_grammar"))));
  const words = el("div", { class: "words" });
  for (const s of w.sentences || []) {
    for (const wd of s.words || []) {
      words.append(el("span", { class: "word" + (wd.grammar ? " grammar" : ""), title: wd.reading || "" },
        el("span", { class: "surface" }, wd.surface),
        el("span", { class: "lemma" }, wd.lemma !== wd.surface ? wd.lemma : "\u00a0"),
        el("span", { class: "reading" }, wd.reading || "\u00a0")));
    }
  }
  body.append(words);
  body.append(el("h3", {}, t("why_this")), verdictView(w.message));
  if (w.together) {
    body.append(el("h3", {}, t("why_together")));
    body.append(el("ol", { class: "recent" }, w.recent.map((r) => el("li", {}, r))));
    body.append(verdictView(w.together));
  }
}

// ---------------------------------------------------------------- save as test

function openSave() {
  const box = $("save-result");
  box.hidden = true;
  if (flow.read_only) { box.hidden = false; box.className = "save-result error"; box.textContent = t("save_readonly"); return; }
  if (!conv.turns.length) { box.hidden = false; box.className = "save-result error"; box.textContent = t("save_empty"); return; }
  const first = conv.turns.map(residentText)[conv.turns.findIndex((x) => x.kind === "say") >= 0 ? conv.turns.findIndex((x) => x.kind === "say") : 0];
  $("save-name").value = t("save_default", first.length > 24 ? first.slice(0, 24) + "…" : first);
  $("save-form").hidden = false;
  $("save-name").focus();
}

async function saveTest(e) {
  e.preventDefault();
  const name = $("save-name").value.trim();
  if (!name) return;
  const box = $("save-result");
  box.hidden = false;
  try {
    const locale = flow.locales[0]?.id === conv.locale ? "" : conv.locale;
    const res = await api("tests", { name, locale, at: conv.at, turns: conv.turns });
    $("save-form").hidden = true;
    box.className = "save-result";
    box.textContent = t("save_done", res.file);
    pendingSaved = { name, file: res.file };
    lastSaved = pendingSaved;
    await loadTests();
  } catch (err) {
    box.className = "save-result error";
    box.textContent = `${t("failed")}: ${err.message}`;
  }
}

let pendingSaved = null;
let lastSaved = null;

// ---------------------------------------------------------------- tests

async function loadTests() {
  if (!flow) return;
  $("tests-summary").textContent = t("tests_running");
  try {
    testsResult = await api("tests");
  } catch (e) {
    testsResult = { runs: [], problems: [], passed: 0, failed: 0, not_run: e.message };
  }
  renderTests();
  if (pendingSaved) {
    const run = testsResult.runs.find((r) => r.file === pendingSaved.file && r.name === pendingSaved.name);
    if (run) {
      const box = $("save-result");
      box.hidden = false;
      box.className = "save-result " + (run.passed ? "pass" : "fail");
      box.textContent = run.passed ? t("save_pass", run.name) : t("save_fail", run.name);
      pendingSaved = null;
    }
  }
}

function renderTests() {
  const box = $("tests");
  if (!box) return;
  box.replaceChildren();
  const r = testsResult;
  if (!r) { $("tests-summary").textContent = ""; $("test-count").textContent = ""; return; }
  if (r.not_run) {
    $("tests-summary").textContent = "";
    $("test-count").textContent = "";
    box.append(el("p", { class: "error" }, r.not_run));
    return;
  }
  $("tests-summary").textContent = t("tests_summary", r.passed, r.failed);
  $("test-count").textContent = r.failed ? `✗${r.failed}` : r.passed ? `✓${r.passed}` : "";
  $("test-count").className = "count " + (r.failed ? "bad" : "good");
  if (r.problems.length) {
    box.append(el("h3", {}, t("tests_problems")), problemList(r.problems));
  }
  if (!r.runs.length && !r.problems.length) { box.append(el("p", { class: "hint" }, t("tests_none"))); return; }
  const failedOnly = $("tests-failed-only").checked;
  const runView = (run, fresh) => el("li", { class: "test-run " + (run.passed ? "pass" : "fail") + (fresh ? " fresh" : ""), "data-file": run.file, "data-name": run.name },
    el("span", { class: "verdict-tag" }, run.passed ? t("tests_pass") : t("tests_fail")), " ",
    el("span", { class: "test-name" }, run.name), " ",
    el("span", { class: "where" }, `${run.file}:${run.line}`),
    run.failures?.length ? el("pre", { class: "failures" }, run.failures.join("\n")) : null);
  // The test kept last comes first, where the officer looks for it.
  const fresh = lastSaved ? r.runs.filter((run) => run.file === lastSaved.file) : [];
  if (fresh.length) box.append(el("h3", {}, t("tests_fresh")), el("ul", { class: "test-runs", id: "tests-fresh" }, fresh.map((run) => runView(run, true))));
  const list = el("ul", { class: "test-runs", id: "tests-all" });
  for (const run of r.runs) {
    if (failedOnly && run.passed) continue;
    list.append(runView(run, false));
  }
  if (fresh.length) box.append(el("h3", {}, t("tests_all")));
  box.append(list);
}

// ---------------------------------------------------------------- bench

async function runBench(pin) {
  const text = $("bench-text").value;
  if (!text.trim() || !flow?.runnable) return;
  const err = $("bench-error");
  try {
    const res = await api("bench", { text });
    err.hidden = true;
    if (pin || !bench.before || bench.text !== text) bench.before = res;
    bench.text = text;
    bench.now = res;
  } catch (e) {
    err.hidden = false;
    err.textContent = e.message;
  }
  renderBench();
}

function verdictText(row) {
  if (!row) return "";
  if (row.verdict === "crisis") return t("verdict_crisis", kindName(row.kind));
  if (row.verdict === "check") return t("verdict_check", kindName(row.kind));
  return t("verdict_calm");
}

function pct(n, of) { return of ? ` (${(100 * n / of).toFixed(1)}%)` : ""; }

function totalsRows(res) {
  const rows = [
    [t("bench_messages"), String(res.rows.length)],
    [t("bench_crisis"), String(res.crisis)],
    [t("bench_check"), String(res.check)],
    [t("bench_calm"), String(res.calm)],
  ];
  const s = res.score;
  if (s) {
    rows.push([t("bench_caught"), `${s.caught}/${s.crisis_messages}${pct(s.caught, s.crisis_messages)}`]);
    rows.push([t("bench_alarmed"), String(s.alarmed)]);
    if (s.kind_labelled) rows.push([t("bench_kind"), `${s.kind_right}/${s.kind_labelled}${pct(s.kind_right, s.kind_labelled)}`]);
    rows.push([t("bench_false"), `${s.false_alarms}/${s.calm_messages}${pct(s.false_alarms, s.calm_messages)}`]);
    rows.push([t("bench_checks_calm"), `${s.checks}/${s.calm_messages}${pct(s.checks, s.calm_messages)}`]);
    rows.push([t("bench_top2"), `${s.top2}/${s.categorised}${pct(s.top2, s.categorised)}`]);
  }
  return rows;
}

function sameRow(a, b) {
  return a && b && a.verdict === b.verdict && a.kind === b.kind && (a.categories || []).join() === (b.categories || []).join();
}

function renderBench() {
  const totals = $("bench-totals");
  const rowsBox = $("bench-rows");
  if (!totals) return;
  totals.replaceChildren();
  rowsBox.replaceChildren();
  const now = bench.now, before = bench.before;
  if (!now) return;
  const nowRows = totalsRows(now);
  const beforeRows = before ? totalsRows(before) : nowRows;
  totals.append(el("table", { class: "totals", id: "bench-totals-table" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, t("bench_before")), el("th", {}, t("bench_now")))),
    el("tbody", {}, nowRows.map((r, i) => el("tr", { class: beforeRows[i] && beforeRows[i][1] !== r[1] ? "changed" : "" },
      el("th", {}, r[0]), el("td", {}, beforeRows[i] ? beforeRows[i][1] : ""), el("td", {}, r[1]))))));
  const byText = new Map((before?.rows || []).map((r) => [r.line + "\t" + r.text, r]));
  let changed = 0;
  const onlyChanged = $("bench-changed-only").checked;
  const body = el("tbody", {});
  for (const r of now.rows) {
    const b = byText.get(r.line + "\t" + r.text);
    const diff = b && !sameRow(b, r);
    if (diff) changed++;
    if (onlyChanged && !diff) continue;
    const crisisWhy = r.reasons.filter((x) => x.type !== "category").map((x) => x.line);
    body.append(el("tr", { class: "bench-row verdict-" + r.verdict + (diff ? " changed" : "") + (r.outcome ? " outcome-" + r.outcome : "") },
      el("td", { class: "num" }, String(r.line)),
      el("td", { class: "text" }, r.text),
      el("td", {}, r.label || ""),
      el("td", { class: "v-before" }, verdictText(b)),
      el("td", { class: "v-now" }, verdictText(r), diff ? el("span", { class: "badge changed" }, t("bench_changed")) : null),
      el("td", {}, r.outcome ? WORDS[lang].outcome[r.outcome] || r.outcome : ""),
      el("td", {}, r.categories.slice(0, 3).map(categoryName).join("・")),
      el("td", { class: "why-cell" }, crisisWhy.join("; "))));
  }
  rowsBox.append(el("p", { class: "summary", id: "bench-changed" }, t("bench_changed_n", changed)));
  rowsBox.append(el("table", { class: "bench", id: "bench-table" },
    el("thead", {}, el("tr", {}, ["#", t("bench_text"), t("bench_label"), t("bench_before"), t("bench_now"), "", t("bench_categories"), t("bench_why")].map((h) => el("th", {}, h)))),
    body));
}

// ---------------------------------------------------------------- wiring

function connect() {
  const es = new EventSource("/api/events");
  es.onmessage = (e) => {
    const v = Number(e.data);
    if (!flow || v !== flow.version) loadFlow().catch((err) => console.error(err));
  };
}

function wire() {
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("ui-lang").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    localStorage.setItem("studio.lang", lang);
    renderedGraph = null;
    applyWords();
    if (tab === "map") drawMap();
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("say").value;
    if (!text.trim()) return;
    $("say").value = "";
    play({ kind: "say", text });
  });
  $("send-sticker").addEventListener("click", () => play({ kind: "event", event: "sticker" }));
  $("send-image").addEventListener("click", () => play({ kind: "event", event: "image" }));
  $("send-close").addEventListener("click", () => play({ kind: "event", event: "case_closed" }));
  $("try-restart").addEventListener("click", () => restart());
  $("try-locale").addEventListener("change", (e) => { conv.locale = e.target.value; restart(); });
  $("try-clock").addEventListener("change", clockChanged);
  $("try-clock-custom").addEventListener("change", clockChanged);
  $("try-save").addEventListener("click", openSave);
  $("save-form").addEventListener("submit", saveTest);
  $("save-cancel").addEventListener("click", () => { $("save-form").hidden = true; });
  $("tests-run").addEventListener("click", loadTests);
  $("tests-failed-only").addEventListener("change", renderTests);
  $("bench-run").addEventListener("click", () => runBench(false));
  $("bench-pin").addEventListener("click", () => { if (bench.now) { bench.before = bench.now; renderBench(); } });
  $("bench-changed-only").addEventListener("change", renderBench);
  $("map-zoom").addEventListener("click", () => { zoomed = !zoomed; zoom(); });
  $("bench-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    $("bench-text").value = await file.text();
    bench.before = null;
    runBench(true);
  });
}

async function main() {
  wire();
  conv.log = [];
  fillClockSelect();
  applyWords();
  await loadFlow();
  restart(true);
  showTab(["problems", "map", "try", "tests", "bench"].includes(tab) ? tab : "map");
  connect();
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  document.body.dataset.ready = "error";
  $("banner").hidden = false;
  $("banner").textContent = String(e);
});
