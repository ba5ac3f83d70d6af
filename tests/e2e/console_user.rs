//! The console's pages for users, in a real headless Chromium against the
//! real binary: API keys, the playground, tasks. Screenshots go to
//! `target/console-screenshots/`.

use std::time::{Duration, Instant};

use imini_tests::Gateway;
use imini_tests::browser::Browser;

const SIGNUP: &str = "[accounts]\nsignup = \"open\"\n";
const PASSWORD: &str = "a long enough passphrase";

fn text_of(browser: &Browser, css: &str) -> String {
    browser.text(css).trim().to_string()
}

/// Tops the account up through the admin API, as an operator does.
fn top_up(gw: &Gateway, account_id: &str, credits: i64) {
    let topup = gw.post(
        &format!("/admin/v1/accounts/{account_id}/topup"),
        &serde_json::json!({ "credits": credits }),
    );
    assert_eq!(
        topup.status,
        200,
        "{}",
        String::from_utf8_lossy(&topup.body)
    );
}

/// No sideways scrolling at a phone's width (390 px) on the page shown,
/// saved as the screenshot `name`; a failure names what is too wide.
pub(crate) fn fits_a_phone(browser: &Browser, name: &str) {
    browser.resize(390, 844);
    browser.screenshot(name);
    let (page, window) = browser.widths();
    let wide = browser.script(
        "return [...document.querySelectorAll('body *')] \
           .filter(e => e.getBoundingClientRect().right > window.innerWidth && !(e.parentElement && e.parentElement.closest('.table-wrap'))) \
           .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className);",
    );
    assert!(
        page <= window,
        "no sideways scrolling on a phone: {page} > {window}; too wide: {wide}"
    );
    browser.resize(1280, 900);
}

/// Whether every image matching `css` on the page has loaded (a broken or
/// CSP-blocked image has no natural width).
fn images_loaded(browser: &Browser, css: &str) -> bool {
    let script = format!(
        "const all = [...document.querySelectorAll({css:?})]; \
         return all.length > 0 && all.every(i => i.complete && i.naturalWidth > 0);"
    );
    browser.script(&script) == serde_json::Value::Bool(true)
}

/// Waits (at most 30 s) for the task page, which refreshes itself, to
/// show the task finished; returns its status.
fn finished_status(browser: &Browser) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Read in one step: the page may reload between finding the
        // element and reading it.
        let status = browser
            .script("const s = document.querySelector('#status'); return s ? s.textContent : '';")
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string();
        if ["succeeded", "failed", "canceled"].contains(&status.as_str()) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the task page still says {status:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_person_makes_a_key_generates_an_image_at_the_price_shown_and_revokes_the_key() {
    let gw = Gateway::start_with_config(SIGNUP);
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "grace@example.com", PASSWORD);
    top_up(&gw, &account_id, 100);

    // A new key: its secret is shown once, with a warning.
    browser.goto(&format!("{}/console/keys", gw.base));
    assert!(browser.find_all("#no-keys").len() == 1);
    browser.fill("#name", "laptop");
    browser.fill("#requests_per_minute", "30");
    browser.submit("#create-key");
    let secret = browser.attribute("#secret", "value").unwrap_or_default();
    assert!(secret.starts_with("imini_sk_"), "{secret}");
    assert!(text_of(&browser, "#secret-warning").contains("shown only this once"));
    browser.screenshot("keys-created");

    // Afterwards the list shows the key without its secret.
    browser.goto(&format!("{}/console/keys", gw.base));
    let source = browser.source();
    assert!(!source.contains(&secret), "the secret is shown again");
    let prefix = text_of(&browser, "#keys .prefix");
    let prefix = prefix.trim_end_matches('…');
    assert!(secret.starts_with(prefix) && prefix.len() < secret.len());
    assert_eq!(text_of(&browser, "#keys .status"), "active");
    assert!(source.contains("laptop") && source.contains(">30<"));
    browser.screenshot("keys");

    // The secret works against the API with a plain HTTP client.
    let me = gw.request_with("GET", "/v1/account", Some(&secret), None);
    assert_eq!(me.status, 200, "{}", String::from_utf8_lossy(&me.body));
    assert_eq!(me.json()["id"], account_id.as_str());

    // The playground: the price first, then the image.
    browser.goto(&format!("{}/console/playground", gw.base));
    assert!(text_of(&browser, "#price-list").contains("imini/canvas-image"));
    browser.select("#model", "imini/canvas-image");
    browser.fill("#prompt", "a lighthouse at dusk, watercolor");
    browser.fill("#size", "512x512");
    browser.submit("#show-price");
    let quoted: i64 = text_of(&browser, "#quote-credits")
        .parse()
        .expect("a price");
    assert_eq!(quoted, 10, "the bundled canvas image price");
    assert_eq!(
        text_of(&browser, "#prompt"),
        "a lighthouse at dusk, watercolor",
        "what was typed is kept"
    );
    browser.screenshot("playground-price");
    fits_a_phone(&browser, "playground-phone");

    browser.submit("#generate");
    let url = browser.current_url();
    assert!(
        url.starts_with(&format!("{}/console/tasks/task_", gw.base)),
        "{url}"
    );
    assert_eq!(finished_status(&browser), "succeeded");
    assert!(images_loaded(&browser, "#outputs img"), "the image shows");
    assert_eq!(text_of(&browser, "#price"), format!("{quoted} credits"));
    assert!(browser.find_all("#cancel").is_empty(), "nothing to cancel");
    browser.screenshot("task-detail");

    // The balance went down by exactly the price shown.
    browser.goto(&format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "#balance"), (100 - quoted).to_string());
    // The ledger names the person (their login), as it names keys.
    let entries = gw.ledger(&account_id);
    let hold = entries
        .iter()
        .find(|e| e["type"] == "hold")
        .expect("a hold");
    assert!(
        hold["actor"]
            .as_str()
            .unwrap_or_default()
            .starts_with("user_"),
        "{hold}"
    );

    // The file downloads, and is a PNG.
    browser.goto(&url);
    let href = browser
        .attribute("#outputs a.download", "href")
        .expect("a link");
    assert!(
        browser
            .attribute("#outputs a.download", "download")
            .is_some_and(|name| name.ends_with(".png"))
    );
    // On this origin, signed: no key or cookie needed to fetch it.
    assert!(href.starts_with("/v1/files/file_"), "{href}");
    let file = gw.get_url(&format!("{}{href}", gw.base));
    assert_eq!(file.status, 200);
    assert!(file.body.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    // The tasks list, newest first, with a thumbnail.
    browser.goto(&format!("{}/console/tasks", gw.base));
    assert_eq!(browser.find_all("#tasks li").len(), 1);
    assert!(text_of(&browser, "#tasks").contains("a lighthouse at dusk"));
    assert!(
        images_loaded(&browser, "#tasks img.thumb"),
        "the thumbnail shows"
    );
    browser.screenshot("tasks");
    fits_a_phone(&browser, "tasks-phone");
    // Filtered out, it is not listed.
    browser.select("#status", "failed");
    browser.submit("#filter");
    assert!(browser.current_url().contains("status=failed"));
    assert_eq!(browser.find_all("#no-tasks").len(), 1);

    // Rotated, the key has a new secret, shown once; the old one stops.
    browser.goto(&format!("{}/console/keys", gw.base));
    browser.submit("#keys .rotate");
    let rotated = browser.attribute("#secret", "value").unwrap_or_default();
    assert!(rotated.starts_with("imini_sk_") && rotated != secret);
    let old = gw.request_with("GET", "/v1/account", Some(&secret), None);
    assert_eq!(old.status, 401, "{}", String::from_utf8_lossy(&old.body));
    let secret = rotated;
    let me = gw.request_with("GET", "/v1/account", Some(&secret), None);
    assert_eq!(me.status, 200);

    // Revoked, the key is refused by the API.
    browser.goto(&format!("{}/console/keys", gw.base));
    browser.submit("#keys .revoke");
    assert_eq!(text_of(&browser, "#keys .status"), "revoked");
    assert!(browser.find_all("#keys .revoke").is_empty());
    let refused = gw.request_with("GET", "/v1/account", Some(&secret), None);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "KEY_REVOKED");
}

#[test]
fn a_refused_submission_says_why_and_creates_no_task() {
    let gw = Gateway::start_with_config(SIGNUP);
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "alan@example.com", PASSWORD);
    top_up(&gw, &account_id, 15);

    browser.goto(&format!("{}/console/playground", gw.base));
    browser.select("#model", "imini/canvas-image");
    // A size the model does not make: said next to the field.
    browser.fill("#prompt", "green hills under a blue sky");
    browser.fill("#size", "12x7");
    browser.submit("#show-price");
    assert!(
        !text_of(&browser, "#size-error").is_empty(),
        "{}",
        browser.source()
    );
    // An empty prompt: said next to it.
    browser.fill("#size", "");
    browser.fill("#prompt", "");
    browser.submit("#generate");
    assert!(text_of(&browser, "#prompt-error").contains("must not be empty"));
    // Two images cost 20, more than the 15 credits: the quote says it
    // would be refused, and submitting is refused in words.
    browser.fill("#prompt", "green hills under a blue sky");
    browser.fill("#n", "2");
    browser.submit("#show-price");
    assert!(text_of(&browser, "#quote").contains("would be refused"));
    browser.submit("#generate");
    assert!(
        browser.current_url().ends_with("/console/playground"),
        "{}",
        browser.current_url()
    );
    let why = text_of(&browser, "#form-error");
    assert!(why.to_lowercase().contains("credits"), "{why}");
    browser.screenshot("playground-refused");

    // No task was made, and nothing was held or charged.
    browser.goto(&format!("{}/console/tasks", gw.base));
    assert_eq!(browser.find_all("#no-tasks").len(), 1);
    browser.goto(&format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "#balance"), "15");
    assert_eq!(text_of(&browser, "#held"), "0");

    // A reference that is not an image is refused next to its field; a
    // PNG is taken (uploaded with the form).
    let dir = tempfile::tempdir().expect("a folder");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a picture").expect("written");
    let picture = dir.path().join("reference.png");
    std::fs::write(&picture, imini_tests::png(64, 64, [200, 40, 40])).expect("written");
    browser.goto(&format!("{}/console/playground", gw.base));
    browser.fill("#prompt", "the same hills, in red");
    browser.choose_file("#reference", &text);
    browser.submit("#generate");
    assert!(
        text_of(&browser, "#reference-error").contains("not an image"),
        "{}",
        browser.source()
    );
    browser.choose_file("#reference", &picture);
    browser.submit("#generate");
    assert_eq!(finished_status(&browser), "succeeded");
    assert_eq!(text_of(&browser, "#references"), "1");
    browser.goto(&format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "#balance"), "5");

    // Another account's task does not exist for this person.
    let other = gw.account("other@example.com", 100);
    let task = gw.submit_image(&other.key, &serde_json::json!({"prompt": "a red door"}));
    browser.goto(&format!("{}/console/tasks/{task}", gw.base));
    assert!(browser.source().contains("no task"), "{}", browser.source());
    assert!(!browser.source().contains("a red door"));
}

#[test]
fn a_running_task_refreshes_itself_and_can_be_cancelled() {
    let (_mock, openai) = imini_tests::slow_openai(Duration::from_secs(15));
    let gw = Gateway::start_with_config(&format!("{SIGNUP}{openai}"));
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "edsger@example.com", PASSWORD);
    top_up(&gw, &account_id, 100);

    browser.goto(&format!("{}/console/playground", gw.base));
    browser.select("#model", "openai/dall-e-3");
    browser.fill("#prompt", "a slow painting");
    browser.submit("#generate");
    assert!(browser.current_url().contains("/console/tasks/task_"));
    // Read in one step, as the page reloads itself every 2 seconds.
    let running = browser.script(
        "return [document.querySelector('#status').textContent, \
         document.querySelector('meta[http-equiv=refresh]').content];",
    );
    let status = running[0].as_str().unwrap_or_default();
    assert!(["queued", "processing"].contains(&status), "{status}");
    assert_eq!(running[1], "2");
    browser.submit("#cancel");
    assert_eq!(finished_status(&browser), "canceled");
    assert!(browser.find_all("meta[http-equiv=refresh]").is_empty());
    assert_eq!(text_of(&browser, "#refunded"), "50");
    browser.goto(&format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "#balance"), "100");
}

#[test]
fn the_task_list_pages_like_the_api_and_filters_by_kind() {
    let gw = Gateway::start_with_config(SIGNUP);
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "barbara@example.com", PASSWORD);
    top_up(&gw, &account_id, 1000);
    browser.goto(&format!("{}/console/keys", gw.base));
    browser.fill("#name", "script");
    browser.submit("#create-key");
    let key = browser.attribute("#secret", "value").expect("a secret");

    // 21 images and one animation, made through the API with the key
    // (one at a time: the OpenAI face waits for each).
    for i in 0..21 {
        let made = gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&key),
            Some(&serde_json::json!({"prompt": format!("picture number {i}"), "size": "64x64"})),
        );
        assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
    }
    let video = gw.request_with(
        "POST",
        "/v1/videos/generate",
        Some(&key),
        Some(&serde_json::json!({"model": "imini/canvas-video", "prompt": "a spinning top", "size": "64x64"})),
    );
    assert_eq!(
        video.status,
        202,
        "{}",
        String::from_utf8_lossy(&video.body)
    );
    let api: Vec<String> = gw
        .tasks(&key)
        .iter()
        .map(|t| t["task_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(api.len(), 22);

    // The console lists them as the API does: newest first, 20 a page.
    browser.goto(&format!("{}/console/tasks", gw.base));
    // The tasks' ids in the order the page shows them.
    let ids = |browser: &Browser| -> Vec<String> {
        let source = browser.source();
        let mut shown: Vec<(usize, String)> = api
            .iter()
            .filter_map(|id| Some((source.find(id.as_str())?, id.clone())))
            .collect();
        shown.sort();
        shown.into_iter().map(|(_, id)| id).collect()
    };
    assert_eq!(ids(&browser), api[..20].to_vec());
    assert!(text_of(&browser, "#tasks li:first-child").contains("a spinning top"));
    browser.submit("#next-page");
    assert!(browser.current_url().contains("after=task_"));
    assert_eq!(ids(&browser), api[20..].to_vec());
    assert!(browser.find_all("#next-page").is_empty());

    // Only the animation, by kind.
    browser.goto(&format!("{}/console/tasks", gw.base));
    browser.select("#kind", "video");
    browser.submit("#filter");
    assert_eq!(browser.find_all("#tasks li").len(), 1);
    assert!(text_of(&browser, "#tasks").contains("a spinning top"));
}

/// The text of each element matching `css`, spaces collapsed.
fn row_texts(browser: &Browser, css: &str) -> Vec<String> {
    let script = format!(
        "return [...document.querySelectorAll({css:?})]\
           .map(r => r.textContent.replace(/\\s+/g, ' ').trim());"
    );
    browser
        .script(&script)
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_models_page_shows_the_prices_in_force_and_the_changelog_with_a_coming_change() {
    let gw = Gateway::start_with_config(SIGNUP);
    let scheduled = gw.post(
        "/admin/v1/prices",
        &serde_json::json!({"model": "imini/canvas-image", "per_image": 50, "effective_at": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(scheduled.status, 201);
    let browser = Browser::start();
    browser.sign_up_and_log_in(&gw, "ada@example.com", PASSWORD);
    browser.click("nav a[href='/console/models']");
    assert_eq!(text_of(&browser, "h1"), "Models");

    // Each model the API lists is on the page, at the API's price now.
    let models = gw.get("/v1/models").json();
    let rows = row_texts(&browser, "#models tbody tr");
    let listed = models["data"].as_array().unwrap();
    assert_eq!(rows.len(), listed.len());
    for m in listed {
        let id = m["id"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r.contains(id))
            .unwrap_or_else(|| panic!("{id} is not on the page: {rows:?}"));
        for p in m["pricing"].as_array().unwrap() {
            let words = format!(
                "{} credits per {}",
                p["credits"],
                p["unit"].as_str().unwrap()
            );
            let one = format!("1 credit per {}", p["unit"].as_str().unwrap());
            assert!(
                row.contains(&words) || (p["credits"] == 1 && row.contains(&one)),
                "{id}: {words} in {row}"
            );
        }
    }

    // The change announced for 2099 is in the changelog, as coming.
    let changes = row_texts(&browser, "#changelog tbody tr");
    assert!(
        changes
            .iter()
            .any(|c| c.contains("2099-01-01 00:00 UTC (coming)")
                && c.contains("imini/canvas-image")
                && c.contains("Price: 50 credits per image")),
        "{changes:?}"
    );
    fits_a_phone(&browser, "models");
}

#[test]
fn the_playground_takes_a_negative_prompt_and_a_seed_and_keeps_the_accounts_rate() {
    let gw = Gateway::start_with_config(SIGNUP);
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "ada@example.com", PASSWORD);
    top_up(&gw, &account_id, 100);
    let limits = gw.post(
        &format!("/admin/v1/accounts/{account_id}/limits"),
        &serde_json::json!({ "requests_per_minute": 1 }),
    );
    assert_eq!(limits.status, 200);

    browser.goto(&format!("{}/console/playground", gw.base));
    browser.select("#model", "imini/canvas-image");
    browser.fill("#prompt", "a bowl of pears, still life");
    browser.fill("#negative_prompt", "text, watermark");
    browser.fill("#seed", "not a number");
    browser.submit("#generate");
    assert!(text_of(&browser, "#seed-error").contains("whole number"));
    assert_eq!(
        gw.ledger(&account_id).len(),
        1,
        "only the top-up: nothing held"
    );

    browser.fill("#seed", "42");
    browser.submit("#generate");
    assert_eq!(finished_status(&browser), "succeeded");
    assert_eq!(text_of(&browser, "#negative-prompt"), "text, watermark");
    assert_eq!(text_of(&browser, "#seed"), "42");

    // The account may send one request a minute: the playground's second
    // generation is refused in words, and holds nothing.
    browser.goto(&format!("{}/console/playground", gw.base));
    browser.select("#model", "imini/canvas-image");
    browser.fill("#prompt", "a bowl of apples");
    browser.submit("#generate");
    assert!(
        text_of(&browser, "#form-error").contains("may generate 1 time a minute"),
        "{}",
        browser.source()
    );
    let holds = gw
        .ledger(&account_id)
        .iter()
        .filter(|e| e["type"] == "hold")
        .count();
    assert_eq!(holds, 1, "the refused generation held nothing");
}
