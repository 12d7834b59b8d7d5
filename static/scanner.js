// Scanner page of the socpass verifier. Every value from the server is shown with
// textContent only: a holder's name can never become markup or script.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  const VERDICTS = {
    accept: { icon: "✔", word: "ПРИНЯТО", cls: "accept" },
    warn: { icon: "⚠", word: "ВНИМАНИЕ", cls: "warn" },
    reject: { icon: "✖", word: "ОТКАЗ", cls: "reject" },
    error: { icon: "⚠", word: "ОШИБКА", cls: "error" },
  };

  const WARNINGS_RU = {
    status_stale: "Данные об отзыве устарели — синхронизируйте устройство.",
  };

  function ruDate(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return m ? m[3] + "." + m[2] + "." + m[1] : (iso || "");
  }

  function ago(seconds) {
    if (seconds < 60) return "только что";
    if (seconds < 3600) return Math.floor(seconds / 60) + " мин назад";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " ч назад";
    return Math.floor(seconds / 86400) + " дн. назад";
  }

  function setText(id, text) {
    $(id).textContent = text || "";
  }

  function showVerdict(kind, message) {
    const v = VERDICTS[kind];
    const section = $("result");
    section.className = "result " + v.cls;
    setText("verdict-icon", v.icon);
    setText("verdict-word", v.word);
    setText("message", message);
    $("holder").hidden = true;
    $("entitlement").hidden = true;
    $("warnings").hidden = true;
    section.hidden = false;
  }

  function showResult(result) {
    let kind = result.verdict === "accept" ? "accept" : "reject";
    if (kind === "accept" && result.warnings && result.warnings.length) kind = "warn";
    showVerdict(kind, result.message);
    const cred = result.credential;
    if (cred && cred.holder) {
      const h = cred.holder;
      setText("holder-name", [h.family_name, h.given_name, h.patronymic].filter(Boolean).join(" "));
      setText("holder-birth", ruDate(h.birth_date));
      let label = cred.type_label || cred.type;
      if (cred.children) label += ", детей: " + cred.children;
      setText("credential-type", label);
      setText("credential-valid", ruDate(cred.valid_until));
      setText("credential-issuer", cred.issuer_name || cred.issuer);
      $("holder").hidden = false;
    }
    if (result.entitlement && result.entitlement.text_ru) {
      setText("entitlement", result.entitlement.text_ru);
      $("entitlement").hidden = false;
    }
    if (result.warnings && result.warnings.length) {
      setText("warnings", result.warnings.map((w) => WARNINGS_RU[w] || w).join(" "));
      $("warnings").hidden = false;
    }
  }

  async function send(url, init) {
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      showVerdict("error", "Нет связи с программой проверки. Проверьте, что она запущена.");
      return;
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (response.ok && body && body.verdict) {
      showResult(body);
    } else {
      showVerdict("error", (body && body.message) || "Ошибка " + response.status);
    }
  }

  async function refreshStatus() {
    let status;
    try {
      const response = await fetch("/api/status", { cache: "no-store" });
      status = await response.json();
    } catch (err) {
      setText("sync-status", "Нет связи с программой проверки.");
      return;
    }
    const line = $("sync-status");
    const parts = [];
    if (status.synced_at == null) {
      parts.push("Устройство ещё не синхронизировано.");
    } else {
      const when = new Date(status.synced_at * 1000);
      parts.push("Последняя синхронизация: " + ago(status.sync_age_seconds) +
        " (" + when.toLocaleString("ru-RU") + ").");
    }
    if (status.cache_error) parts.push("Данные проверки повреждены — синхронизируйте устройство.");
    else if (status.stale) parts.push("Данные об отзыве устарели.");
    if (!status.clock_ok) parts.push("Неверное время на устройстве!");
    line.textContent = parts.join(" ");
    line.className = status.ok ? "" : "attention";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = $("qr");
    $("scan-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      input.value = "";
      input.focus();
      if (!text) return;
      send("/api/verify", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ qr: text }),
      });
    });
    $("photo").addEventListener("change", () => {
      const file = $("photo").files[0];
      if (!file) return;
      const form = new FormData();
      form.append("image", file);
      $("photo").value = "";
      send("/api/scan", { method: "POST", body: form }).then(() => input.focus());
    });
    refreshStatus();
    setInterval(refreshStatus, 60000);
    input.focus();
  });
})();
