import { describe, expect, it } from 'vitest';
import { pageWithPreloads } from '../../../api/routes/dashboard.ts';
import { firstView, firstViewUrls, OVERVIEW_URLS, weeklyUrl } from '../../../api/public/first-view.js';

const locations = [
  { location: 'Albury', forecastDate: null, threshold: null },
  { location: 'Perth', forecastDate: '2011-03-30', threshold: 0.4 },
  { location: "O'Connor", forecastDate: '2011-03-31', threshold: 0.6 },
];

describe('the dashboard first view', () => {
  it('opens on the first station with a forecast, at its threshold, the weekly scores ending at the newest forecast', () => {
    expect(firstView(locations)).toEqual({ station: 'Perth', threshold: 0.4, latestDate: '2011-03-31' });
  });

  it('opens on what the address names', () => {
    expect(firstView(locations, { station: "O'Connor", threshold: null })).toMatchObject({
      station: "O'Connor",
      threshold: 0.6,
    });
    expect(firstView(locations, { station: 'Albury', threshold: 0.25 })).toMatchObject({
      station: 'Albury',
      threshold: 0.25,
    });
  });

  it('opens on the first station at the default threshold when none has a forecast', () => {
    expect(firstView(locations.slice(0, 1))).toEqual({ station: 'Albury', threshold: 0.5, latestDate: null });
    expect(firstView([])).toEqual({ station: null, threshold: 0.5, latestDate: null });
  });

  it('asks for the 52 weeks up to the newest forecast', () => {
    expect(weeklyUrl('2011-03-31', 0.4)).toBe('/quality?groupBy=week&from=2010-04-01&threshold=0.4');
    expect(weeklyUrl(null, 0.5)).toBe('/quality?groupBy=week&threshold=0.5');
  });

  it("lists the overview's requests and the station's, its name encoded", () => {
    const urls = firstViewUrls(firstView(locations, { station: "O'Connor", threshold: null }));
    expect(urls.slice(0, OVERVIEW_URLS.length)).toEqual([...OVERVIEW_URLS]);
    expect(urls).toContain("/predict?location=O'Connor&threshold=0.6");
    expect(urls).toContain("/predict?task=max_temp&location=O'Connor");
    expect(urls).toContain("/predictions?location=O'Connor");
    expect(firstViewUrls(firstView([]))).not.toContainEqual(expect.stringMatching(/^\/predict/));
  });
});

describe('pageWithPreloads', () => {
  it('writes each URL as a fetch preload in place of the marker, attribute-escaped', () => {
    const page = pageWithPreloads('<head>\n    <!-- preloads: here -->\n</head>', [
      '/locations',
      '/quality?groupBy=week&threshold=0.5',
      '/x?a="b"',
    ]);
    expect(page).toBe(
      '<head>\n' +
        '    <link rel="preload" href="/locations" as="fetch" crossorigin="anonymous" />\n' +
        '    <link rel="preload" href="/quality?groupBy=week&amp;threshold=0.5" as="fetch" crossorigin="anonymous" />\n' +
        '    <link rel="preload" href="/x?a=&quot;b&quot;" as="fetch" crossorigin="anonymous" />\n' +
        '</head>',
    );
  });
});
