/**
 * The audit dashboard page: markup only. Its script and style are separate files
 * (`/dashboard.js`, `/dashboard.css`) so the page runs under a CSP without `unsafe-inline`.
 */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Haldir — audit dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<header><h1>Haldir</h1><input id="key" type="password" placeholder="API key (hld_…)" autocomplete="off"><button id="load" type="button">Load</button><span id="status"></span></header>
<main>
  <section><h2>Sessions</h2><table><thead><tr><th>agent</th><th>spend</th><th>state</th></tr></thead><tbody id="sessions"></tbody></table></section>
  <section class="wide"><h2>Approvals <span id="approvals-status" class="muted"></span></h2><input id="approver" placeholder="your name (who decides)" autocomplete="name">
    <table><thead><tr><th>call</th><th>money</th><th>deadline</th><th>decision</th></tr></thead><tbody id="approvals"></tbody></table></section>
  <section><h2 id="trail-title">Audit trail</h2><div id="verify" class="muted"></div>
    <table><thead><tr><th>#</th><th>time</th><th>tool</th><th>action</th><th>result</th><th>cost</th><th>reason</th></tr></thead><tbody id="trail"></tbody></table></section>
</main>
</body>
</html>
`
