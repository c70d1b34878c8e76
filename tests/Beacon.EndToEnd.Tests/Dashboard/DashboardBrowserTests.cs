using Xunit.Abstractions;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, headless): mail in over SMTP with a campaign, its tracked
/// link followed, then the page loaded from Beacon's API listener; the campaign and the click must show up in the
/// campaigns table, the live event stream and the mail viewer, and a second click must arrive live. Screenshots are
/// saved under the test output's artifacts/ folder. In the heavy collection: a browser loads the whole machine.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string Campaign = "browser_spring";

    [Fact]
    public async Task The_dashboard_shows_the_campaign_and_the_click_and_streams_the_next_click_live()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        var messageId = await DashboardTraffic.SendAsync(beacon, Campaign, "reader@example.com");
        await beacon.WaitForEventsAsync("delivery");
        await DashboardTraffic.ClickAsync(beacon, messageId, "reader@example.com");
        var click = (await beacon.WaitForEventsAsync("click")).Single();
        // A click seconds after delivery, before any open, is how link scanners behave: the human rates leave it out.
        var human = (string?)click["classification"] == "human" ? "100%" : "0%";

        await using var browser = await HeadlessChromium.StartAsync();
        var site = $"http://{beacon.Api}/";
        await browser.NavigateAsync(site + "#campaigns");
        const string ClickRows = $"document.querySelectorAll('#events-table tr.event[data-type=\"click\"][data-campaign=\"{Campaign}\"]').length";
        const string Diagnostics = "({ campaigns: document.querySelector('#campaigns-table').innerText, events: document.querySelector('#events-table').innerText, status: document.querySelector('#stream-status').textContent })";
        await browser.WaitForAsync($"!!document.querySelector('#campaigns-table tr[data-campaign=\"{Campaign}\"]') && {ClickRows} === 1",
            "the campaign in the campaigns table and its click in the live events", Diagnostics);

        // Injected 1, delivered 1, bounced 0; the click confirms the open: 100% open and click rates.
        var cells = (await browser.EvaluateAsync($"[...document.querySelector('#campaigns-table tr[data-campaign=\"{Campaign}\"]').cells].map(c => c.innerText.trim())"))!.AsArray()
            .Select(c => (string)c!).ToList();
        Assert.Equal([Campaign, "1", "1", "0", "100%", "100%", human, human, "1"], cells);
        await ScreenshotAsync(browser, "dashboard-campaigns.png");

        // A click now travels store → event stream → the page, without a reload.
        await DashboardTraffic.ClickAsync(beacon, messageId, "reader@example.com");
        await browser.WaitForAsync($"{ClickRows} === 2", "the second click to arrive in the live stream", Diagnostics);
        Assert.Equal("live", (string?)await browser.EvaluateAsync("document.querySelector('#stream-status').textContent"));
        await browser.EvaluateAsync("location.hash = '#events'");
        await ScreenshotAsync(browser, "dashboard-events.png");

        // The mail viewer: the captured copy, its HTML in the sandboxed frame, this message's events beside it.
        await browser.EvaluateAsync($"location.hash = '#mail/{messageId}/0'");
        await browser.WaitForAsync(
            $"document.querySelector('#mail-subject').textContent === 'Offer {Campaign}' && document.querySelector('#mail-frame').getAttribute('src') === '/api/v1/captured/{messageId}/0/html'" +
            " && document.querySelectorAll('#mail-events-table tr.event[data-type=\"click\"]').length === 2",
            "the captured copy and its two clicks in the mail viewer",
            "({ subject: document.querySelector('#mail-subject').textContent, events: document.querySelector('#mail-events-table').innerText })");
        await ScreenshotAsync(browser, "dashboard-mail.png");

        // The message's story, oldest first; then the overview with its counters.
        await browser.EvaluateAsync($"location.hash = '#message/{messageId}'");
        await browser.WaitForAsync("[...document.querySelectorAll('#message-table tr.event')].map(r => r.dataset.type).join(',') === 'injection,delivery,click,click'",
            "the message's events in order", "document.querySelector('#message-table').innerText");
        await browser.EvaluateAsync("location.hash = '#overview'");
        await browser.WaitForAsync("[...document.querySelectorAll('#overview-cards .card')].some(c => c.querySelector('.label').textContent === 'Clicks' && c.querySelector('.value').textContent === '2')",
            "the overview's click counter", "document.querySelector('#overview-cards').innerText");
        await browser.WaitForAsync("!!document.querySelector('#chart svg polyline')", "the activity chart");
        await ScreenshotAsync(browser, "dashboard.png");

        // Beacon gone: the view says so in place of its numbers, and the stream shows it is not live.
        await beacon.Server.StopAsync();
        await browser.EvaluateAsync("document.querySelector('#refresh').click()");
        await browser.WaitForAsync("(document.querySelector('#overview-cards .error')?.textContent ?? '').includes('Beacon is not answering')" +
            " && document.querySelector('#stream-status').textContent !== 'live'",
            "the overview to show that Beacon is not answering", "document.querySelector('#overview-cards').innerText");
        await ScreenshotAsync(browser, "dashboard-error.png");
    }

    [Fact]
    public async Task With_api_keys_the_browser_is_challenged_and_the_page_its_fetches_and_its_stream_use_the_key()
    {
        const string Key = "browser-key-0123456789";
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Api.Keys.Add(Key);
        });
        var messageId = await DashboardTraffic.SendAsync(beacon, Campaign, "reader@example.com");
        await beacon.WaitForEventsAsync("delivery");

        await using var browser = await HeadlessChromium.StartAsync();
        var challenges = await browser.AnswerAuthChallengesAsync(Key, string.Empty); // the key as user name, no password
        await browser.NavigateAsync($"http://{beacon.Api}/#events");
        await browser.WaitForAsync(
            $"document.querySelector('#node').textContent === 'e2e · capture' && document.querySelector('#stream-status').textContent === 'live'" +
            $" && [...document.querySelectorAll('#events-table tr.event')].some(r => r.textContent.includes('{messageId}'))",
            "the page to load its info and stream events with the key",
            "({ node: document.querySelector('#node').textContent, events: document.querySelector('#events-table').innerText })");
        Assert.True(challenges.Value >= 1, "the browser was asked for the key");
    }

    private async Task ScreenshotAsync(HeadlessChromium browser, string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", name);
        await browser.ScreenshotAsync(path);
        output.WriteLine($"screenshot: {path}");
    }
}
