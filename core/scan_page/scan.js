// The scanning page (/scan/): camera or typed code -> a capture in this page's session ->
// its live status until terminal -> the product, or why there is none; and, for a code
// with an expiry date (AI 17), the freshness chip.
//
// It calls only what a publishable key may: POST /sessions, POST /captures,
// GET /sessions/{id}/status, GET /captures/{id} and GET /freshness-thresholds.
// No inline script or style anywhere: the page's Content-Security-Policy has no
// 'unsafe-inline'. Failures are shown on the page, never thrown to the console.
"use strict";

(function () {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const API = meta("scanserve-api").replace(/\/+$/, "");
  const KEY = meta("scanserve-key");
  const SESSION_STORE = "scanserve.scan-page.session";
  // The server's own built-in layer (scanserve.domain.freshness_layers.BUILT_IN): the chip is
  // coloured with these at once, then again with what GET /freshness-thresholds answers.
  const DEFAULT_THRESHOLDS = { warningDays: 7, criticalDays: 2, categoryLabel: "", source: "page-default" };
  const SOURCES = {
    "page-default": "this page's built-in defaults",
    "org-override": "your organisation's rule for this category",
    "org-fallback": "your organisation's fallback rule",
    "global-default": "the server's default for this category",
    "global-fallback": "the server's fallback",
    "built-in": "the server's built-in thresholds",
  };
  const TERMINAL = new Set(["COMPLETED", "FAILED", "NOT_FOUND"]);
  const STATES = {
    sending: "sending",
    PENDING: "queued",
    LOOKING_UP: "looking up the product",
    ENRICHING: "gathering product data",
    RESOLVING: "following the link",
    COMPLETED: "done",
    FAILED: "failed",
    NOT_FOUND: "not found",
    error: "not sent",
  };
  const POLL_DELAYS_MS = [300, 500, 800, 1200, 2000];
  const POLL_LIMIT_MS = 90000;
  const REPEAT_MS = 15000; // the same code held before the camera is one scan
  const MAX_ITEMS = 20;
  const FRAME_MS = 200;

  const $ = (id) => document.getElementById(id);
  const statusLine = $("status");
  const announce = (text) => { statusLine.textContent = text; };
  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  // --- the API ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      const words = problem && (problem.detail || problem.title);
      super(words ? String(words) : `the server answered ${status}`);
      this.status = status;
    }
  }

  function randomKey() {
    // crypto.randomUUID needs a secure context; getRandomValues does not
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, path, body) {
    const headers = { "X-API-Key": KEY, Accept: "application/json" };
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = randomKey();
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  let sessionId = null;
  let sessionPending = null;

  function session(renew) {
    if (renew) {
      sessionStorage.removeItem(SESSION_STORE);
      sessionId = null;
      sessionPending = null;
    }
    if (sessionId === null) sessionId = sessionStorage.getItem(SESSION_STORE);
    if (sessionId !== null) return Promise.resolve(sessionId);
    if (sessionPending === null) {
      sessionPending = api("POST", "/sessions", {
        metadata: { source: "scan-page" },
        capture_mode: "barcode_scan",
        user_agent: navigator.userAgent.slice(0, 500),
      }).then((created) => {
        sessionId = created.id;
        sessionStorage.setItem(SESSION_STORE, created.id);
        return created.id;
      }).finally(() => { sessionPending = null; });
    }
    return sessionPending;
  }

  async function createCapture(scan) {
    const body = (sid) => ({
      session_id: sid,
      capture_type: scan.typed ? "MANUAL" : "BARCODE",
      raw_value: scan.value,
      metadata: { source: "scan-page", format: scan.format },
    });
    try {
      return await api("POST", "/captures", body(await session(false)));
    } catch (err) {
      // the session ended, expired or is gone: this page starts another one
      if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 409)) throw err;
      return api("POST", "/captures", body(await session(true)));
    }
  }

  // --- GS1: element strings, Digital Links, expiry dates ---------------------------------

  // The AI's own length by its first two digits (GS1 General Specifications, 3.2), and the
  // data length of the fixed-length AIs; every other AI's data ends at a GS or the end.
  const AI_DIGITS = {};
  ["23", "24", "25", "40", "41", "42", "43"].forEach((p) => { AI_DIGITS[p] = 3; });
  ["31", "32", "33", "34", "35", "36", "39", "70", "71", "72", "80", "81", "82"].forEach((p) => { AI_DIGITS[p] = 4; });
  const FIXED = { "00": 18, "01": 14, "02": 14, "03": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2, "41": 13 };
  const fixedLength = (ai) => FIXED[ai] || FIXED[ai.slice(0, 2)] ||
    (/^3[1-6]/.test(ai) ? 6 : 0);
  const GS = "\u001d";
  const DL_ALIASES = { gtin: "01", lot: "10", ser: "21", exp: "17", bbd: "15" };

  function elementString(text) {
    let s = text.replace(/^\](d2|C1|Q3|e0|J1)/, "");
    if (s.startsWith("(")) {
      const ais = {};
      const re = /\((\d{2,4})\)([^(]*)/gy;
      let m;
      while ((m = re.exec(s)) !== null) ais[m[1]] = m[2];
      return re.lastIndex === 0 && Object.keys(ais).length === 0 ? null : ais;
    }
    // without a symbology mark or a separator, only digits that start with a GTIN's AI 01
    if (text === s && !text.includes(GS) && !/^01\d{16,}$/.test(s)) return null;
    s = s.replace(/^\u001d+/, "");
    const ais = {};
    while (s.length > 0) {
      const digits = AI_DIGITS[s.slice(0, 2)] || 2;
      const ai = s.slice(0, digits);
      if (!/^\d+$/.test(ai) || ai.length < digits) return null;
      const fixed = fixedLength(ai);
      let value;
      if (fixed) {
        value = s.slice(digits, digits + fixed);
        s = s.slice(digits + fixed);
      } else {
        const end = s.indexOf(GS, digits);
        value = s.slice(digits, end < 0 ? undefined : end);
        s = end < 0 ? "" : s.slice(end);
      }
      ais[ai] = value;
      s = s.replace(/^\u001d+/, "");
    }
    return ais;
  }

  function digitalLink(text) {
    let url;
    try { url = new URL(text); } catch (_) { return null; }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const at = parts.findIndex((p, i) => (p === "01" || p === "gtin") && /^\d{8,14}$/.test(parts[i + 1] || ""));
    if (at < 0) return null;
    const ais = {};
    for (let i = at; i + 1 < parts.length; i += 2) ais[DL_ALIASES[parts[i]] || parts[i]] = parts[i + 1];
    url.searchParams.forEach((value, name) => {
      const ai = DL_ALIASES[name] || name;
      if (/^\d{2,4}$/.test(ai)) ais[ai] = value;
    });
    return ais;
  }

  // What a decoded or typed code says: the value to send (element strings in their
  // bracketed form, which survives JSON), its GTIN and its expiry date (a UTC midnight).
  function interpret(text) {
    const value = text.trim();
    if (/^\d{8}$|^\d{12,14}$/.test(value)) return { value, gtin: value, expiry: null, kind: "GTIN" };
    const link = digitalLink(value);
    const ais = link || elementString(value);
    if (ais === null) return { value, gtin: "", expiry: null, kind: "text" };
    // the GTIN first, then the other AIs as read (decoders differ in the order they give)
    const order = Object.keys(ais).sort((a, b) => (b === "01") - (a === "01"));
    const bracketed = link ? value : order.map((ai) => `(${ai})${ais[ai]}`).join("");
    return {
      value: bracketed,
      gtin: /^\d{8,14}$/.test(ais["01"] || "") ? ais["01"] : "",
      expiry: expiryDate(ais["17"]),
      kind: link ? "GS1 Digital Link" : "GS1 element string",
    };
  }

  function expiryDate(yymmdd) {
    const m = /^(\d\d)(\d\d)(\d\d)$/.exec(yymmdd || "");
    if (!m) return null;
    const [yy, mm, dd] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (mm < 1 || mm > 12) return null;
    // GS1 General Specifications 7.12: the century within -49..+50 years of this one
    const now = new Date().getUTCFullYear();
    let year = now - (now % 100) + yy;
    const diff = yy - (now % 100);
    if (diff >= 51) year -= 100;
    else if (diff <= -50) year += 100;
    const last = new Date(Date.UTC(year, mm, 0)).getUTCDate();
    if (dd > last) return null;
    return Date.UTC(year, mm - 1, dd === 0 ? last : dd); // DD 00: the month's last day
  }

  function daysLeft(expiry) {
    const now = new Date();
    const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
    return Math.round((expiry - today) / 86400000);
  }

  // The contract's rule: fresh at warningDays or more, expired below criticalDays, else warning.
  function freshnessLevel(days, t) {
    if (days >= t.warningDays) return "fresh";
    if (days < t.criticalDays) return "expired";
    return "warning";
  }

  function daysText(days) {
    if (days === 0) return "expires today";
    if (days === 1) return "expires tomorrow";
    if (days > 1) return `expires in ${days} days`;
    if (days === -1) return "expired yesterday";
    return `expired ${-days} days ago`;
  }

  // --- the list of scans -------------------------------------------------------------------

  const scans = $("scans");
  const template = $("scan-item");

  function newItem(scan) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".code").textContent = scan.value;
    item.querySelector(".format").textContent = `(${scan.format}${scan.typed ? "" : ", camera"})`;
    item.dataset.code = scan.value;
    scans.prepend(item);
    while (scans.children.length > MAX_ITEMS) scans.lastElementChild.remove();
    return item;
  }

  function showState(item, state) {
    item.dataset.state = state;
    item.querySelector(".state").textContent = STATES[state] || state.toLowerCase();
  }

  function showLine(item, selector, text) {
    const line = item.querySelector(selector);
    line.textContent = text;
    line.hidden = false;
  }

  function paintChip(item, days, thresholds, note) {
    const chip = item.querySelector(".chip");
    const level = freshnessLevel(days, thresholds);
    chip.dataset.level = level;
    chip.dataset.source = thresholds.source;
    chip.querySelector(".chip-level").textContent = level;
    chip.querySelector(".chip-days").textContent = `· ${daysText(days)}`;
    const label = thresholds.categoryLabel ? ` (${thresholds.categoryLabel})` : "";
    chip.querySelector(".chip-rule").textContent =
      `Warning below ${thresholds.warningDays} days, expired below ${thresholds.criticalDays} days: ` +
      `${SOURCES[thresholds.source] || thresholds.source}${label}, source ${thresholds.source}.${note || ""}`;
    chip.setAttribute("aria-label", `Freshness: ${level}, ${daysText(days)}`);
    chip.hidden = false;
    return level;
  }

  async function showFreshness(item, scan) {
    const days = daysLeft(scan.expiry);
    paintChip(item, days, DEFAULT_THRESHOLDS);
    if (!scan.gtin) return;
    try {
      const thresholds = await api("GET", `/freshness-thresholds?gtin=${encodeURIComponent(scan.gtin)}`);
      const level = paintChip(item, days, thresholds);
      announce(`${scan.value}: ${level}, ${daysText(days)} (thresholds from ${thresholds.source}).`);
    } catch (err) {
      paintChip(item, days, DEFAULT_THRESHOLDS, ` The server's thresholds could not be read: ${err.message}`);
    }
  }

  async function follow(item, scan, capture) {
    let status = capture.status;
    if (!TERMINAL.has(status)) showState(item, status);
    const started = Date.now();
    for (let i = 0; !TERMINAL.has(status); i += 1) {
      if (Date.now() - started > POLL_LIMIT_MS) {
        showLine(item, ".reason", "Still being processed; look again later.");
        announce(`${scan.value}: still being processed.`);
        return;
      }
      await sleep(POLL_DELAYS_MS[Math.min(i, POLL_DELAYS_MS.length - 1)]);
      const now = await api("GET", `/sessions/${encodeURIComponent(capture.session_id)}/status`);
      const mine = now.captures.find((c) => c.id === capture.id);
      if (mine && mine.status !== status) {
        status = mine.status;
        if (TERMINAL.has(status)) break; // shown with its outcome, below
        showState(item, status);
        announce(`${scan.value}: ${STATES[status] || status}.`);
      }
    }
    const done = await api("GET", `/captures/${encodeURIComponent(capture.id)}`);
    showState(item, done.status);
    if (done.status === "COMPLETED" && done.product_name) {
      item.querySelector(".product").dataset.productId = done.product_short_id || "";
      showLine(item, ".product", done.product_name);
      announce(`${scan.value}: ${done.product_name}.`);
    } else if (done.status === "COMPLETED") {
      showLine(item, ".reason", "The code names no product.");
      announce(`${scan.value}: the code names no product.`);
    } else if (done.status === "NOT_FOUND") {
      const gtin = done.gtin || scan.gtin;
      const reason = gtin ? `No product with GTIN ${gtin} is known.` : "The code holds no GTIN to look up.";
      showLine(item, ".reason", reason);
      announce(`${scan.value}: not found. ${reason}`);
    } else {
      const reason = done.error_message || "The lookup failed.";
      showLine(item, ".reason", reason);
      announce(`${scan.value}: failed. ${reason}`);
    }
  }

  async function submit(text, format, typed) {
    const scan = { ...interpret(text), format, typed };
    if (scan.value.length === 0 || scan.value.length > 500) {
      announce("A code has 1 to 500 characters.");
      return;
    }
    const item = newItem(scan);
    showState(item, "sending");
    announce(`Scanned ${scan.value}; looking it up.`);
    if (scan.expiry !== null) showFreshness(item, scan);
    try {
      const capture = await createCapture(scan);
      item.dataset.captureId = capture.id;
      await follow(item, scan, capture);
    } catch (err) {
      showState(item, "error");
      showLine(item, ".reason", err.message);
      announce(`${scan.value}: ${err.message}`);
    }
  }

  // --- typed codes ---------------------------------------------------------------------------

  const form = $("manual-form");
  const input = $("manual-code");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      input.setAttribute("aria-invalid", "true");
      announce("Type a code first.");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    input.value = "";
    submit(text, "typed", true);
  });

  // --- the camera ----------------------------------------------------------------------------

  const video = $("preview");
  const startButton = $("camera-start");
  const stopButton = $("camera-stop");
  const cameraState = $("camera-state");
  const decoderLine = $("decoder");
  const seen = new Map(); // code -> when it was last in front of the camera
  let stream = null;
  let decode = null;
  let timer = null;

  const BROWSER_FORMATS = { ean_13: "EAN-13", ean_8: "EAN-8", upc_a: "UPC-A", upc_e: "UPC-E", qr_code: "QR code", data_matrix: "DataMatrix" };

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`${src} could not be loaded`));
      document.head.append(script);
    });
  }

  async function browserDecoder() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = Object.keys(BROWSER_FORMATS).filter((f) => supported.includes(f));
      if (formats.length < Object.keys(BROWSER_FORMATS).length) return null; // ZXing reads all
      const detector = new window.BarcodeDetector({ formats });
      decoderLine.textContent = "Decoder: the browser's own BarcodeDetector.";
      return async () => (await detector.detect(video)).map((b) => ({
        text: b.rawValue, format: BROWSER_FORMATS[b.format] || b.format,
      }));
    } catch (_) {
      return null;
    }
  }

  async function zxingDecoder() {
    decoderLine.textContent = "Decoder: loading ZXing (WebAssembly)…";
    await loadScript("zxing/zxing-reader.js");
    const zxing = window.ZXingWASM;
    const where = new URL("zxing/", document.baseURI).href;
    await zxing.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? where + path : prefix + path) },
      fireImmediately: true,
    });
    decoderLine.textContent = `Decoder: ZXing WebAssembly ${zxing.ZXING_WASM_VERSION} (shipped with this server).`;
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const options = {
      formats: ["EAN13", "EAN8", "UPCA", "UPCE", "QRCode", "DataMatrix"],
      tryHarder: true,
      maxNumberOfSymbols: 1,
    };
    return async () => {
      const [w, h] = [video.videoWidth, video.videoHeight];
      if (!w || !h) return [];
      if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
      context.drawImage(video, 0, 0, w, h);
      const results = await zxing.readBarcodes(context.getImageData(0, 0, w, h), options);
      return results.filter((r) => r.isValid).map((r) => ({ text: r.text, format: r.format }));
    };
  }

  async function tick() {
    timer = null;
    if (stream === null) return;
    try {
      for (const found of await decode()) {
        const now = Date.now();
        const last = seen.get(found.text);
        seen.set(found.text, now);
        if (last === undefined || now - last > REPEAT_MS) submit(found.text, found.format, false);
      }
    } catch (_) {
      // a frame that cannot be read (the camera just stopped, say): the next one may be
    }
    if (stream !== null) timer = setTimeout(tick, FRAME_MS);
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraState.textContent = "No camera here: browsers give pages a camera only over HTTPS (or on localhost). Type the code instead.";
      announce(cameraState.textContent);
      return;
    }
    startButton.disabled = true;
    try {
      decode = decode || (await browserDecoder()) || (await zxingDecoder());
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
      video.srcObject = stream;
      await video.play();
      cameraState.textContent = "The camera is on: hold a barcode in front of it.";
      announce(cameraState.textContent);
      startButton.hidden = true;
      stopButton.hidden = false;
      stopButton.focus();
      tick();
    } catch (err) {
      stopCamera();
      cameraState.textContent = `The camera could not start (${err.message || err.name}). Type the code instead.`;
      announce(cameraState.textContent);
    } finally {
      startButton.disabled = false;
    }
  }

  function stopCamera() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (stream !== null) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    const hadFocus = document.activeElement === stopButton;
    stopButton.hidden = true;
    startButton.hidden = false;
    if (hadFocus) startButton.focus();
    cameraState.textContent = "The camera is off.";
  }

  startButton.addEventListener("click", () => { startCamera(); });
  stopButton.addEventListener("click", () => {
    stopCamera();
    announce("The camera is off.");
  });
}());
