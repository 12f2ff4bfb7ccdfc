"""Country facts every generated CPO needs: ISO 3166 alpha-3, currency, VAT, a capital to place
sites around when no detailed table exists (see geo_data.py), and a static EUR exchange rate
so template prices (written in EUR) come out plausible in the local currency.

Static on purpose: generation is offline and must stay byte-stable for a given seed, so the
numbers are approximate (standard VAT rates, rough exchange rates) and never fetched."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CountryFacts:
    alpha3: str
    currency: str  # ISO 4217
    vat_percent: float | None  # standard rate; None where no single national rate applies
    capital: str
    latitude: float
    longitude: float
    time_zone: str


def _c(
    alpha3: str, currency: str, vat: float | None, capital: str, lat: float, lon: float, tz: str
) -> CountryFacts:
    return CountryFacts(alpha3, currency, vat, capital, lat, lon, tz)


COUNTRIES: dict[str, CountryFacts] = {
    # Europe
    "AD": _c("AND", "EUR", 4.5, "Andorra la Vella", 42.506285, 1.521801, "Europe/Andorra"),
    "AL": _c("ALB", "ALL", 20.0, "Tirana", 41.327546, 19.818698, "Europe/Tirane"),
    "AT": _c("AUT", "EUR", 20.0, "Wien", 48.208174, 16.373819, "Europe/Vienna"),
    "BA": _c("BIH", "BAM", 17.0, "Sarajevo", 43.856259, 18.413076, "Europe/Sarajevo"),
    "BE": _c("BEL", "EUR", 21.0, "Bruxelles", 50.850346, 4.351721, "Europe/Brussels"),
    "BG": _c("BGR", "BGN", 20.0, "Sofia", 42.697708, 23.321868, "Europe/Sofia"),
    "CH": _c("CHE", "CHF", 8.1, "Bern", 46.947974, 7.447447, "Europe/Zurich"),
    "CY": _c("CYP", "EUR", 19.0, "Nicosia", 35.185566, 33.382276, "Asia/Nicosia"),
    "CZ": _c("CZE", "CZK", 21.0, "Praha", 50.075538, 14.437800, "Europe/Prague"),
    "DE": _c("DEU", "EUR", 19.0, "Berlin", 52.520008, 13.404954, "Europe/Berlin"),
    "DK": _c("DNK", "DKK", 25.0, "København", 55.676097, 12.568337, "Europe/Copenhagen"),
    "EE": _c("EST", "EUR", 22.0, "Tallinn", 59.436961, 24.753575, "Europe/Tallinn"),
    "ES": _c("ESP", "EUR", 21.0, "Madrid", 40.416775, -3.703790, "Europe/Madrid"),
    "FI": _c("FIN", "EUR", 25.5, "Helsinki", 60.169856, 24.938379, "Europe/Helsinki"),
    "FR": _c("FRA", "EUR", 20.0, "Paris", 48.856613, 2.352222, "Europe/Paris"),
    "GB": _c("GBR", "GBP", 20.0, "London", 51.507351, -0.127758, "Europe/London"),
    "GR": _c("GRC", "EUR", 24.0, "Athina", 37.983810, 23.727539, "Europe/Athens"),
    "HR": _c("HRV", "EUR", 25.0, "Zagreb", 45.815011, 15.981919, "Europe/Zagreb"),
    "HU": _c("HUN", "HUF", 27.0, "Budapest", 47.497912, 19.040235, "Europe/Budapest"),
    "IE": _c("IRL", "EUR", 23.0, "Dublin", 53.349805, -6.260310, "Europe/Dublin"),
    "IS": _c("ISL", "ISK", 24.0, "Reykjavík", 64.146582, -21.942635, "Atlantic/Reykjavik"),
    "IT": _c("ITA", "EUR", 22.0, "Roma", 41.902782, 12.496366, "Europe/Rome"),
    "LI": _c("LIE", "CHF", 8.1, "Vaduz", 47.141030, 9.520928, "Europe/Vaduz"),
    "LT": _c("LTU", "EUR", 21.0, "Vilnius", 54.687156, 25.279651, "Europe/Vilnius"),
    "LU": _c("LUX", "EUR", 17.0, "Luxembourg", 49.611621, 6.131935, "Europe/Luxembourg"),
    "LV": _c("LVA", "EUR", 21.0, "Rīga", 56.949649, 24.105186, "Europe/Riga"),
    "MC": _c("MCO", "EUR", 20.0, "Monaco", 43.738418, 7.424616, "Europe/Monaco"),
    "MD": _c("MDA", "MDL", 20.0, "Chișinău", 47.010453, 28.863810, "Europe/Chisinau"),
    "ME": _c("MNE", "EUR", 21.0, "Podgorica", 42.430420, 19.259364, "Europe/Podgorica"),
    "MK": _c("MKD", "MKD", 18.0, "Skopje", 41.997346, 21.427996, "Europe/Skopje"),
    "MT": _c("MLT", "EUR", 18.0, "Valletta", 35.898909, 14.514553, "Europe/Malta"),
    "NL": _c("NLD", "EUR", 21.0, "Amsterdam", 52.367573, 4.904139, "Europe/Amsterdam"),
    "NO": _c("NOR", "NOK", 25.0, "Oslo", 59.913869, 10.752245, "Europe/Oslo"),
    "PL": _c("POL", "PLN", 23.0, "Warszawa", 52.229676, 21.012229, "Europe/Warsaw"),
    "PT": _c("PRT", "EUR", 23.0, "Lisboa", 38.722252, -9.139337, "Europe/Lisbon"),
    "RO": _c("ROU", "RON", 19.0, "București", 44.426767, 26.102538, "Europe/Bucharest"),
    "RS": _c("SRB", "RSD", 20.0, "Beograd", 44.786568, 20.448922, "Europe/Belgrade"),
    "SE": _c("SWE", "SEK", 25.0, "Stockholm", 59.329323, 18.068581, "Europe/Stockholm"),
    "SI": _c("SVN", "EUR", 22.0, "Ljubljana", 46.056947, 14.505751, "Europe/Ljubljana"),
    "SK": _c("SVK", "EUR", 23.0, "Bratislava", 48.148598, 17.107748, "Europe/Bratislava"),
    "TR": _c("TUR", "TRY", 20.0, "Ankara", 39.933363, 32.859742, "Europe/Istanbul"),
    "UA": _c("UKR", "UAH", 20.0, "Kyiv", 50.450100, 30.523400, "Europe/Kyiv"),
    # Americas
    "AR": _c(
        "ARG", "ARS", 21.0, "Buenos Aires", -34.603684, -58.381559, "America/Argentina/Buenos_Aires"
    ),
    "BR": _c("BRA", "BRL", None, "Brasília", -15.826691, -47.921822, "America/Sao_Paulo"),
    "CA": _c("CAN", "CAD", 5.0, "Ottawa", 45.421530, -75.697193, "America/Toronto"),
    "CL": _c("CHL", "CLP", 19.0, "Santiago", -33.448890, -70.669265, "America/Santiago"),
    "CO": _c("COL", "COP", 19.0, "Bogotá", 4.710989, -74.072090, "America/Bogota"),
    "CR": _c("CRI", "CRC", 13.0, "San José", 9.928069, -84.090725, "America/Costa_Rica"),
    "MX": _c("MEX", "MXN", 16.0, "Ciudad de México", 19.432608, -99.133209, "America/Mexico_City"),
    "PE": _c("PER", "PEN", 18.0, "Lima", -12.046374, -77.042793, "America/Lima"),
    "US": _c("USA", "USD", None, "Washington", 38.907192, -77.036871, "America/New_York"),
    "UY": _c("URY", "UYU", 22.0, "Montevideo", -34.901113, -56.164531, "America/Montevideo"),
    # Asia, Middle East, Oceania
    "AE": _c("ARE", "AED", 5.0, "Abu Dhabi", 24.453884, 54.377344, "Asia/Dubai"),
    "AU": _c("AUS", "AUD", 10.0, "Canberra", -35.280937, 149.130009, "Australia/Sydney"),
    "CN": _c("CHN", "CNY", 13.0, "Beijing", 39.904200, 116.407396, "Asia/Shanghai"),
    "HK": _c("HKG", "HKD", None, "Hong Kong", 22.319304, 114.169361, "Asia/Hong_Kong"),
    "ID": _c("IDN", "IDR", 11.0, "Jakarta", -6.208763, 106.845599, "Asia/Jakarta"),
    "IL": _c("ISR", "ILS", 18.0, "Jerusalem", 31.768319, 35.213710, "Asia/Jerusalem"),
    "IN": _c("IND", "INR", 18.0, "New Delhi", 28.613939, 77.209021, "Asia/Kolkata"),
    "JP": _c("JPN", "JPY", 10.0, "Tokyo", 35.676192, 139.650311, "Asia/Tokyo"),
    "KR": _c("KOR", "KRW", 10.0, "Seoul", 37.566535, 126.977969, "Asia/Seoul"),
    "MY": _c("MYS", "MYR", 8.0, "Kuala Lumpur", 3.139003, 101.686855, "Asia/Kuala_Lumpur"),
    "NZ": _c("NZL", "NZD", 15.0, "Wellington", -41.286460, 174.776236, "Pacific/Auckland"),
    "PH": _c("PHL", "PHP", 12.0, "Manila", 14.599512, 120.984222, "Asia/Manila"),
    "QA": _c("QAT", "QAR", None, "Doha", 25.285447, 51.531040, "Asia/Qatar"),
    "SA": _c("SAU", "SAR", 15.0, "Riyadh", 24.713552, 46.675296, "Asia/Riyadh"),
    "SG": _c("SGP", "SGD", 9.0, "Singapore", 1.352083, 103.819836, "Asia/Singapore"),
    "TH": _c("THA", "THB", 7.0, "Bangkok", 13.756331, 100.501765, "Asia/Bangkok"),
    "TW": _c("TWN", "TWD", 5.0, "Taipei", 25.032969, 121.565418, "Asia/Taipei"),
    "VN": _c("VNM", "VND", 10.0, "Hà Nội", 21.027764, 105.834160, "Asia/Ho_Chi_Minh"),
    # Africa
    "EG": _c("EGY", "EGP", 14.0, "Cairo", 30.044420, 31.235712, "Africa/Cairo"),
    "KE": _c("KEN", "KES", 16.0, "Nairobi", -1.292066, 36.821946, "Africa/Nairobi"),
    "MA": _c("MAR", "MAD", 20.0, "Rabat", 34.020882, -6.841650, "Africa/Casablanca"),
    "NG": _c("NGA", "NGN", 7.5, "Abuja", 9.076479, 7.398574, "Africa/Lagos"),
    "TN": _c("TUN", "TND", 19.0, "Tunis", 36.806495, 10.181532, "Africa/Tunis"),
    "ZA": _c("ZAF", "ZAR", 15.0, "Pretoria", -25.747868, 28.229271, "Africa/Johannesburg"),
}

# Units of local currency per EUR, rounded; only used to scale template prices.
EUR_RATES: dict[str, float] = {
    "EUR": 1.0,
    "GBP": 0.85,
    "USD": 1.08,
    "CHF": 0.95,
    "SEK": 11.4,
    "NOK": 11.6,
    "DKK": 7.46,
    "ISK": 150.0,
    "PLN": 4.3,
    "CZK": 25.0,
    "HUF": 395.0,
    "RON": 4.97,
    "BGN": 1.96,
    "RSD": 117.0,
    "BAM": 1.96,
    "MKD": 61.5,
    "ALL": 100.0,
    "MDL": 19.3,
    "UAH": 44.0,
    "TRY": 35.0,
    "ARS": 1000.0,
    "BRL": 6.0,
    "CAD": 1.48,
    "CLP": 1000.0,
    "COP": 4400.0,
    "CRC": 560.0,
    "MXN": 19.5,
    "PEN": 4.05,
    "UYU": 44.0,
    "AED": 3.97,
    "AUD": 1.65,
    "CNY": 7.8,
    "HKD": 8.4,
    "IDR": 17500.0,
    "ILS": 4.0,
    "INR": 90.0,
    "JPY": 163.0,
    "KRW": 1470.0,
    "MYR": 5.0,
    "NZD": 1.8,
    "PHP": 62.0,
    "QAR": 3.93,
    "SAR": 4.05,
    "SGD": 1.45,
    "THB": 38.0,
    "TWD": 35.0,
    "VND": 27000.0,
    "EGP": 52.0,
    "KES": 140.0,
    "MAD": 10.8,
    "NGN": 1650.0,
    "TND": 3.35,
    "ZAR": 20.0,
}

# Currencies whose prices are quoted without decimals in practice (ISO 4217 minor unit 0, or
# so small a unit that cents would look absurd on a tariff).
WHOLE_UNIT_CURRENCIES: frozenset[str] = frozenset(
    {"ISK", "HUF", "CLP", "COP", "CRC", "IDR", "JPY", "KRW", "VND", "ARS", "NGN"}
)
