/**
 * The one HTML page: no data and no inline script or style (the CSP allows neither), only the
 * bundle, which renders into `#app`. Routes are in the fragment (`#/sessions/…`), so the server
 * serves this page at `/` alone.
 */
export const dashboardShell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Haldir dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script type="module" src="/dashboard/app.js"></script>
</head>
<body>
<div id="app"><p>Loading the Haldir dashboard…</p></div>
</body>
</html>
`
