"""Country facts every generated CPO needs, for all 249 officially assigned ISO 3166-1 alpha-2
codes: ISO 3166-1 alpha-3, currency (ISO 4217), standard VAT rate, and a representative city
(the capital, or the main town of a territory) to place sites around when no detailed table
exists (see geo_data.py), with its IANA time zone.

Static on purpose: generation is offline and must stay byte-stable for a given seed, so the
numbers are approximate (standard VAT rates of 2025-26) and never fetched. Tests check the table
against the IANA tz database's zone.tab (the zone belongs to the country)."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.cpo.currencies import EUR_RATES, WHOLE_UNIT_CURRENCIES

__all__ = ["COUNTRIES", "EUR_RATES", "WHOLE_UNIT_CURRENCIES", "CountryFacts"]


@dataclass(frozen=True)
class CountryFacts:
    alpha3: str
    currency: str  # ISO 4217
    vat_percent: float | None  # standard rate; None where no single national rate applies
    capital: str
    latitude: float
    longitude: float
    time_zone: str
    # How far from the city centre sites may lie so that they stay inside the country (and on
    # land), and in which compass arc (degrees clockwise from north) when the city is on a
    # coast or a border. None: 8 km around the centre, motorway sites 12-30 km out.
    reach_km: float | None = None
    bearings: tuple[float, float] | None = None


# One row per country: alpha-2, alpha-3, currency, VAT % ("-": none), latitude, longitude,
# reach ("-", or km, or km/from:to for an arc of bearings), time zone, city (may hold spaces).
_TABLE = """
AD AND EUR   4.5  42.506285    1.521801  12.2/-15:80 Europe/Andorra Andorra la Vella
AE ARE AED     5  24.453884   54.377344  2.3/-90:125 Asia/Dubai Abu Dhabi
AF AFG AFN     -   34.52813    69.17233            - Asia/Kabul Kabul
AG ATG XCD    17   17.12096   -61.84329  9.9/100:190 America/Antigua Saint John's
AI AIA XCD    13   18.21704   -63.05783  1.2/-160:65 America/Anguilla The Valley
AL ALB ALL    20  41.327546   19.818698 25.5/-85:235 Europe/Tirane Tirana
AM ARM AMD    20   40.17765    44.51260 25.5/-115:140 Asia/Yerevan Yerevan
AO AGO AOA    14   -8.83682    13.23432  25.5/70:215 Africa/Luanda Luanda
AQ ATA USD     -  -77.84630   166.67600   1.5/-20:75 Antarctica/McMurdo McMurdo Station
AR ARG ARS    21 -34.603684  -58.381559 25.5/140:310 America/Argentina/Buenos_Aires Buenos Aires
AS ASM USD     -  -14.27806  -170.70250   2.1/50:215 Pacific/Pago_Pago Pago Pago
AT AUT EUR    20  48.208174   16.373819            - Europe/Vienna Wien
AU AUS AUD    10 -35.280937  149.130009            - Australia/Sydney Canberra
AW ABW AWG     -   12.52398   -70.02703    5.7/0:125 America/Aruba Oranjestad
AX ALA EUR  25.5   60.09726    19.93481   6.6/-65:40 Europe/Mariehamn Mariehamn
AZ AZE AZN    18   40.37767    49.89201 18.0/-120:85 Asia/Baku Baku
BA BIH BAM    17  43.856259   18.413076            - Europe/Sarajevo Sarajevo
BB BRB BBD  17.5   13.10732   -59.62021    14.0/0:90 America/Barbados Bridgetown
BD BGD BDT    15   23.71040    90.40744 25.5/160:435 Asia/Dhaka Dhaka
BE BEL EUR    21  50.850346    4.351721            - Europe/Brussels Bruxelles
BF BFA XOF    18   12.36566    -1.53388            - Africa/Ouagadougou Ouagadougou
BG BGR EUR    20  42.697708   23.321868            - Europe/Sofia Sofia
BH BHR BHD    10   26.22787    50.58565  2.2/150:265 Asia/Bahrain Manama
BI BDI BIF    18   -3.42708    29.92463            - Africa/Bujumbura Gitega
BJ BEN XOF    18    6.49646     2.60359 25.5/-120:30 Africa/Porto-Novo Porto-Novo
BL BLM EUR     -   17.89618   -62.84978   1.9/-30:95 America/St_Barthelemy Gustavia
BM BMU BMD     -   32.29490   -64.78303  0.80/45:135 Atlantic/Bermuda Hamilton
BN BRN BND     -    4.89035   114.94006  9.0/-140:55 Asia/Brunei Bandar Seri Begawan
BO BOL BOB    13  -16.49580   -68.13330            - America/La_Paz La Paz
BQ BES USD     -   12.14430   -68.26550  4.4/-25:200 America/Kralendijk Kralendijk
BR BRA BRL     - -15.826691  -47.921822            - America/Sao_Paulo Brasília
BS BHS BSD    10   25.05823   -77.34306   2.8/85:300 America/Nassau Nassau
BT BTN BTN     -   27.46609    89.64191            - Asia/Thimphu Thimphu
BV BVT NOK     -  -54.42080     3.34640   2.7/40:160 Europe/Oslo Bouvet Island
BW BWA BWP    14  -24.65451    25.90859 25.5/-150:50 Africa/Gaborone Gaborone
BY BLR BYN    20   53.90019    27.56653            - Europe/Minsk Minsk
BZ BLZ BZD  12.5   17.25376   -88.76401            - America/Belize Belmopan
CA CAN CAD     5   45.42153  -75.697193            - America/Toronto Ottawa
CC CCK AUD     -  -12.15681    96.82251         0.15 Indian/Cocos West Island
CD COD CDF    16   -4.32758    15.31357  25.5/60:205 Africa/Kinshasa Kinshasa
CF CAF XAF    19    4.36122    18.55496 25.5/-150:50 Africa/Bangui Bangui
CG COG XAF    18   -4.26613    15.28318 25.5/-125:45 Africa/Brazzaville Brazzaville
CH CHE CHF   8.1  46.947974    7.447447            - Europe/Zurich Bern
CI CIV XOF    18    6.82055    -5.27674            - Africa/Abidjan Yamoussoukro
CK COK NZD    15  -21.20750  -159.77546  2.7/105:290 Pacific/Rarotonga Avarua
CL CHL CLP    19  -33.44889  -70.669265            - America/Santiago Santiago
CM CMR XAF 19.25    3.86667    11.51667            - Africa/Douala Yaoundé
CN CHN CNY    13    39.9042  116.407396            - Asia/Shanghai Beijing
CO COL COP    19   4.710989   -74.07209            - America/Bogota Bogotá
CR CRI CRC    13   9.928069  -84.090725            - America/Costa_Rica San José
CU CUB CUP     -   23.13302   -82.38304  25.5/85:235 America/Havana Havana
CV CPV CVE    15   14.93152   -23.51254   13.2/-85:5 Atlantic/Cape_Verde Praia
CW CUW XCG     -   12.10840   -68.93350   7.9/-55:90 America/Curacao Willemstad
CX CXR AUD     -  -10.42172   105.67912          0.3 Indian/Christmas Flying Fish Cove
CY CYP EUR    19  35.185566   33.382276  25.0/55:285 Asia/Nicosia Nicosia
CZ CZE CZK    21  50.075538     14.4378            - Europe/Prague Praha
DE DEU EUR    19  52.520008   13.404954            - Europe/Berlin Berlin
DJ DJI DJF    10   11.58901    43.14503 14.2/155:245 Africa/Djibouti Djibouti
DK DNK DKK    25  55.676097   12.568337 25.2/-115:-25 Europe/Copenhagen København
DM DMA XCD    15   15.30174   -61.38808    12.1/0:90 America/Dominica Roseau
DO DOM DOP    18   18.47186   -69.89232 25.5/-110:60 America/Santo_Domingo Santo Domingo
DZ DZA DZD    19   36.73225     3.08746  25.5/90:235 Africa/Algiers Algiers
EC ECU USD    15   -0.22985   -78.52495            - America/Guayaquil Quito
EE EST EUR    22  59.436961   24.753575  25.5/80:255 Europe/Tallinn Tallinn
EG EGY EGP    14   30.04442   31.235712            - Africa/Cairo Cairo
EH ESH MAD    20   27.14180   -13.18797   25.5/0:235 Africa/El_Aaiun Laayoune
ER ERI ERN     -   15.33805    38.93184            - Africa/Asmara Asmara
ES ESP EUR    21  40.416775    -3.70379            - Europe/Madrid Madrid
ET ETH ETB    15    9.02497    38.74689            - Africa/Addis_Ababa Addis Ababa
FI FIN EUR  25.5  60.169856   24.938379   4.5/-60:30 Europe/Helsinki Helsinki
FJ FJI FJD    15  -18.13683   178.42531          0.3 Pacific/Fiji Suva
FK FLK FKP     -  -51.69382   -57.85701  1.8/100:270 Atlantic/Stanley Stanley
FM FSM USD     -    6.92477   158.16109  11.3/75:165 Pacific/Pohnpei Palikir
FO FRO DKK    25   62.00973    -6.77164  2.6/140:385 Atlantic/Faroe Tórshavn
FR FRA EUR    20  48.856613    2.352222            - Europe/Paris Paris
GA GAB XAF    18    0.39241     9.45356 14.9/-20:105 Africa/Libreville Libreville
GB GBR GBP    20  51.507351   -0.127758            - Europe/London London
GD GRD XCD    15   12.05600   -61.74500    3.0/5:130 America/Grenada Saint George's
GE GEO GEL    18   41.69143    44.83412            - Asia/Tbilisi Tbilisi
GF GUF EUR     -    4.93810   -52.33455  8.2/125:215 America/Cayenne Cayenne
GG GGY GBP     -   49.45981    -2.53527   3.2/-130:5 Europe/Guernsey Saint Peter Port
GH GHA GHS    15    5.55602    -0.19690 25.5/-100:45 Africa/Accra Accra
GI GIB GIP     -   36.14474    -5.35257  0.20/90:180 Europe/Gibraltar Gibraltar
GL GRL DKK     -   64.18347   -51.72157   0.50/-5:85 America/Nuuk Nuuk
GM GMB GMD    15   13.45274   -16.57803          0.3 Africa/Banjul Banjul
GN GIN GNF    18    9.53795   -13.67729 0.80/-165:100 Africa/Conakry Conakry
GP GLP EUR   8.5   15.99714   -61.73214          0.3 America/Guadeloupe Basse-Terre
GQ GNQ XAF    15    3.75230     8.77370 19.4/120:220 Africa/Malabo Malabo
GR GRC EUR    24   37.98381   23.727539 21.2/-55:115 Europe/Athens Athina
GS SGS GBP     -  -54.28111   -36.50920  4.4/170:335 Atlantic/South_Georgia Grytviken
GT GTM GTQ    12   14.64072   -90.51327            - America/Guatemala Guatemala City
GU GUM USD     -   13.47567   144.74886   5.7/45:235 Pacific/Guam Hagåtña
GW GNB XOF    17   11.86357   -15.59767  15.7/-80:45 Africa/Bissau Bissau
GY GUY GYD    14    6.80448   -58.15527 25.5/120:275 America/Guyana Georgetown
HK HKG HKD     -  22.319304  114.169361   8.2/-40:65 Asia/Hong_Kong Hong Kong
HM HMD AUD     -  -53.10000    73.51670          7.3 Indian/Kerguelen Heard Island
HN HND HNL    15   14.08180   -87.20681            - America/Tegucigalpa Tegucigalpa
HR HRV EUR    25  45.815011   15.981919 24.6/-50:240 Europe/Zagreb Zagreb
HT HTI HTG    10   18.54349   -72.33881  25.5/15:215 America/Port-au-Prince Port-au-Prince
HU HUN HUF    27  47.497912   19.040235            - Europe/Budapest Budapest
ID IDN IDR    11  -6.208763  106.845599  25.5/55:310 Asia/Jakarta Jakarta
IE IRL EUR    23  53.349805    -6.26031 25.4/155:355 Europe/Dublin Dublin
IL ISR ILS    18  31.768319    35.21371  4.0/115:400 Asia/Jerusalem Jerusalem
IM IMN GBP    20   54.15000    -4.48333 12.6/-125:20 Europe/Isle_of_Man Douglas
IN IND INR    18  28.613939   77.209021            - Asia/Kolkata New Delhi
IO IOT USD     -   -7.26229    72.37676          0.2 Indian/Chagos Diego Garcia
IQ IRQ IQD     -   33.34058    44.40088            - Asia/Baghdad Baghdad
IR IRN IRR    10   35.69439    51.42151            - Asia/Tehran Tehran
IS ISL ISK    24  64.146582  -21.942635 0.70/-75:150 Atlantic/Reykjavik Reykjavík
IT ITA EUR    22  41.902782   12.496366            - Europe/Rome Roma
JE JEY GBP     5   49.18804    -2.10491   6.0/-40:65 Europe/Jersey Saint Helier
JM JAM JMD    15   17.99702   -76.79358 25.5/-90:110 America/Jamaica Kingston
JO JOR JOD    16   31.95522    35.94503            - Asia/Amman Amman
JP JPN JPY    10  35.676192  139.650311 25.5/-170:70 Asia/Tokyo Tokyo
KE KEN KES    16  -1.292066   36.821946            - Africa/Nairobi Nairobi
KG KGZ KGS    12   42.87000    74.59000  24.0/75:330 Asia/Bishkek Bishkek
KH KHM KHR    10   11.56245   104.91601            - Asia/Phnom_Penh Phnom Penh
KI KIR AUD  12.5    1.32780   172.97696         0.15 Pacific/Tarawa Tarawa
KM COM KMF    10  -11.70216    43.25506   13.3/5:140 Indian/Comoro Moroni
KN KNA XCD    17   17.29550   -62.72499  2.9/-85:100 America/St_Kitts Basseterre
KP PRK KPW     -   39.03385   125.75432            - Asia/Pyongyang Pyongyang
KR KOR KRW    10  37.566535  126.977969 25.3/-55:280 Asia/Seoul Seoul
KW KWT KWD     -   29.36700    47.97429 16.2/145:235 Asia/Kuwait Kuwait City
KY CYM KYD     -   19.28660   -81.37436 1.1/-155:100 America/Cayman George Town
KZ KAZ KZT    16   51.18010    71.44598            - Asia/Almaty Astana
LA LAO LAK    10   17.96667   102.60000  25.5/-65:80 Asia/Vientiane Vientiane
LB LBN LBP    11   33.89332    35.50157  25.5/85:175 Asia/Beirut Beirut
LC LCA XCD  12.5   13.99570   -61.00614  11.0/35:205 America/St_Lucia Castries
LI LIE CHF   8.1   47.14103    9.520928   4.5/90:185 Europe/Vaduz Vaduz
LK LKA LKR    18    6.93548    79.84868  25.5/20:145 Asia/Colombo Colombo
LR LBR LRD    10    6.30169   -10.79585 0.30/-45:125 Africa/Monrovia Monrovia
LS LSO LSL    15  -29.31667    27.48333  25.5/45:190 Africa/Maseru Maseru
LT LTU EUR    21  54.687156   25.279651         23.5 Europe/Vilnius Vilnius
LU LUX EUR    17  49.611621    6.131935 14.1/-165:130 Europe/Luxembourg Luxembourg
LV LVA EUR    21  56.949649   24.105186  24.7/30:250 Europe/Riga Rīga
LY LBY LYD     -   32.88743    13.18733 25.5/110:245 Africa/Tripoli Tripoli
MA MAR MAD    20  34.020882    -6.84165  25.5/50:195 Africa/Casablanca Rabat
MC MCO EUR    20  43.738418    7.424616  0.4/-100:10 Europe/Monaco Monaco
MD MDA MDL    20  47.010453    28.86381            - Europe/Chisinau Chișinău
ME MNE EUR    21   42.43042   19.259364 25.5/-175:35 Europe/Podgorica Podgorica
MF MAF EUR     -   18.06819   -63.08302   4.3/25:115 America/Marigot Marigot
MG MDG MGA    20  -18.91368    47.53613            - Indian/Antananarivo Antananarivo
MH MHL USD     -    7.08971   171.38027         0.15 Pacific/Majuro Majuro
MK MKD MKD    18  41.997346   21.427996  24.9/25:295 Europe/Skopje Skopje
ML MLI XOF    18   12.60915    -7.97522            - Africa/Bamako Bamako
MM MMR MMK     5   19.74500    96.12972            - Asia/Yangon Nay Pyi Taw
MN MNG MNT    10   47.90771   106.88324            - Asia/Ulaanbaatar Ulaanbaatar
MO MAC MOP     -   22.20056   113.54611 0.40/165:390 Asia/Macau Macau
MP MNP USD     -   15.21233   145.75450  5.0/155:250 Pacific/Saipan Saipan
MQ MTQ EUR   8.5   14.60365   -61.07418  13.2/-40:65 America/Martinique Fort-de-France
MR MRT MRU    16   18.08581   -15.97850   25.5/0:170 Africa/Nouakchott Nouakchott
MS MSR XCD     -   16.70555   -62.21292    5.8/0:105 America/Montserrat Plymouth
MT MLT EUR    18  35.898909   14.514553 8.5/-180:-60 Europe/Malta Valletta
MU MUS MUR    15  -20.16194    57.49889  19.8/35:200 Indian/Mauritius Port Louis
MV MDV MVR     8    4.17521    73.50916          0.3 Indian/Maldives Male
MW MWI MWK  16.5  -13.96692    33.78725            - Africa/Blantyre Lilongwe
MX MEX MXN    16  19.432608  -99.133209            - America/Mexico_City Ciudad de México
MY MYS MYR     8   3.139003  101.686855            - Asia/Kuala_Lumpur Kuala Lumpur
MZ MOZ MZN    16  -25.96553    32.58322  25.5/-65:25 Africa/Maputo Maputo
NA NAM NAD    15  -22.55941    17.08323            - Africa/Windhoek Windhoek
NC NCL XPF    11  -22.27407   166.44884     2.4/0:90 Pacific/Noumea Nouméa
NE NER XOF    19   13.51366     2.10980            - Africa/Niamey Niamey
NF NFK AUD    10  -29.05459   167.96628   2.7/-85:40 Pacific/Norfolk Kingston
NG NGA NGN   7.5   9.076479    7.398574            - Africa/Lagos Abuja
NI NIC NIO    15   12.13282   -86.25040            - America/Managua Managua
NL NLD EUR    21  52.367573    4.904139            - Europe/Amsterdam Amsterdam
NO NOR NOK    25  59.913869   10.752245 25.5/-85:150 Europe/Oslo Oslo
NP NPL NPR    13   27.70169    85.32060            - Asia/Kathmandu Kathmandu
NR NRU AUD     -   -0.54797   166.92575   1.0/-30:60 Pacific/Nauru Yaren
NU NIU NZD  12.5  -19.05294  -169.91957   8.6/20:140 Pacific/Niue Alofi
NZ NZL NZD    15  -41.28646  174.776236 7.7/-125:-30 Pacific/Auckland Wellington
OM OMN OMR     5   23.58413    58.40778 25.5/105:285 Asia/Muscat Muscat
PA PAN USD     7    8.99360   -79.51973 25.5/-115:60 America/Panama Panama City
PE PER PEN    18 -12.046374  -77.042793 25.5/-25:120 America/Lima Lima
PF PYF XPF    16  -17.53470  -149.56843  16.5/90:180 Pacific/Tahiti Papeete
PG PNG PGK    10   -9.47723   147.15089  25.5/-15:90 Pacific/Port_Moresby Port Moresby
PH PHL PHP    12  14.599512  120.984222   25.5/0:170 Asia/Manila Manila
PK PAK PKR    18   33.72148    73.04329            - Asia/Karachi Islamabad
PL POL PLN    23  52.229676   21.012229            - Europe/Warsaw Warszawa
PM SPM EUR     -   46.77914   -56.17730  1.7/-160:40 America/Miquelon Saint-Pierre
PN PCN NZD     -  -25.06597  -130.10147 0.30/120:260 Pacific/Pitcairn Adamstown
PR PRI USD     -   18.42300   -66.06000 25.5/100:235 America/Puerto_Rico San Juan
PS PSE ILS    16   31.90380    35.20340 25.5/-35:135 Asia/Hebron Ramallah
PT PRT EUR    23  38.722252   -9.139337   25.5/-85:5 Europe/Lisbon Lisboa
PW PLW USD    10    7.34190   134.47920  0.20/-85:85 Pacific/Palau Koror
PY PRY PYG    10  -25.28646   -57.64700 25.5/-35:135 America/Asuncion Asunción
QA QAT QAR     -  25.285447    51.53104 25.5/170:310 Asia/Qatar Doha
RE REU EUR   8.5  -20.88231    55.45040 23.9/115:230 Indian/Reunion Saint-Denis
RO ROU RON    19  44.426767   26.102538            - Europe/Bucharest București
RS SRB RSD    20  44.786568   20.448922            - Europe/Belgrade Beograd
RU RUS RUB    22   55.75204    37.61781            - Europe/Moscow Moscow
RW RWA RWF    18   -1.94995    30.05885            - Africa/Kigali Kigali
SA SAU SAR    15  24.713552   46.675296            - Asia/Riyadh Riyadh
SB SLB SBD     -   -9.43333   159.95000 25.4/100:270 Pacific/Guadalcanal Honiara
SC SYC SCR    15   -4.62001    55.45501  5.5/170:260 Indian/Mahe Victoria
SD SDN SDG    17   15.55177    32.53241            - Africa/Khartoum Khartoum
SE SWE SEK    25  59.329323   18.068581 24.8/-180:-35 Europe/Stockholm Stockholm
SG SGP SGD     9   1.352083  103.819836          7.4 Asia/Singapore Singapore
SH SHN SHP     -  -15.92488    -5.71816  5.9/100:235 Atlantic/St_Helena Jamestown
SI SVN EUR    22  46.056947   14.505751            - Europe/Ljubljana Ljubljana
SJ SJM NOK     -   78.21829    15.64637 25.1/120:225 Arctic/Longyearbyen Longyearbyen
SK SVK EUR    23  48.148598   17.107748 25.5/-30:115 Europe/Bratislava Bratislava
SL SLE SLE    15    8.48714   -13.23560  7.2/115:205 Africa/Freetown Freetown
SM SMR EUR     -   43.93667    12.44639  2.3/145:430 Europe/San_Marino San Marino
SN SEN XOF    18   14.69370   -17.44406  1.8/150:350 Africa/Dakar Dakar
SO SOM SOS     -    2.03711    45.34375 25.5/-110:35 Africa/Mogadishu Mogadishu
SR SUR SRD    10    5.86638   -55.16682 25.5/150:275 America/Paramaribo Paramaribo
SS SSD SSP     -    4.85165    31.58247            - Africa/Juba Juba
ST STP STN     -    0.33756     6.72990 11.3/-180:-65 Africa/Sao_Tome São Tomé
SV SLV USD    13   13.68935   -89.18718 25.5/-130:165 America/El_Salvador San Salvador
SX SXM XCG     -   18.02600   -63.04582  0.80/-80:90 America/Lower_Princes Philipsburg
SY SYR SYP     -   33.51020    36.29128 25.5/-60:265 Asia/Damascus Damascus
SZ SWZ SZL    15  -26.31667    31.13333   25.5/0:255 Africa/Mbabane Mbabane
TC TCA USD     -   21.46122   -71.14188   0.5/30:150 America/Grand_Turk Cockburn Town
TD TCD XAF    18   12.10672    15.04440 25.5/-25:145 Africa/Ndjamena N'Djamena
TF ATF EUR     -  -49.34916    70.21937  18.2/-70:75 Indian/Kerguelen Port-aux-Français
TG TGO XOF    18    6.12874     1.22154  25.5/-50:70 Africa/Lome Lomé
TH THA THB     7  13.756331  100.501765 24.6/-170:135 Asia/Bangkok Bangkok
TJ TJK TJS    14   38.53575    68.77905            - Asia/Dushanbe Dushanbe
TK TKL NZD     -   -9.38030  -171.24460         0.15 Pacific/Fakaofo Fakaofo
TL TLS USD     -   -8.55861   125.57361  25.5/85:255 Asia/Dili Dili
TM TKM TMT    15   37.95000    58.38333 25.5/-120:200 Asia/Ashgabat Ashgabat
TN TUN TND    19  36.806495   10.181532 25.5/155:325 Africa/Tunis Tunis
TO TON TOP    15  -21.13683  -175.20114          0.3 Pacific/Tongatapu Nuku'alofa
TR TUR TRY    20  39.933363   32.859742            - Europe/Istanbul Ankara
TT TTO TTD  12.5   10.66668   -61.51889  11.0/35:130 America/Port_of_Spain Port of Spain
TV TUV AUD     -   -8.52425   179.19417         0.15 Pacific/Funafuti Funafuti
TW TWN TWD     5  25.032969  121.565418  25.3/75:270 Asia/Taipei Taipei
TZ TZA TZS    18   -6.17221    35.73947            - Africa/Dar_es_Salaam Dodoma
UA UKR UAH    20    50.4501     30.5234            - Europe/Kyiv Kyiv
UG UGA UGX    18    0.31628    32.58219            - Africa/Kampala Kampala
UM UMI USD     -   19.28230   166.64700 0.20/-130:15 Pacific/Wake Wake Island
US USA USD     -  38.907192  -77.036871            - America/New_York Washington
UY URY UYU    22 -34.901113  -56.164531  25.5/-50:55 America/Montevideo Montevideo
UZ UZB UZS    12   41.26465    69.21627  25.5/40:210 Asia/Tashkent Tashkent
VA VAT EUR     -   41.90350    12.45150         0.25 Europe/Vatican Vatican City
VC VCT XCD    16   13.15527   -61.22742   8.1/-30:65 America/St_Vincent Kingstown
VE VEN VES    16   10.48801   -66.87919  25.5/65:280 America/Caracas Caracas
VG VGB USD     -   18.42693   -64.62079  1.2/-160:85 America/Tortola Road Town
VI VIR USD     -   18.34190   -64.93070   2.5/20:125 America/St_Thomas Charlotte Amalie
VN VNM VND    10  21.027764   105.83416            - Asia/Ho_Chi_Minh Hà Nội
VU VUT VUV    15  -17.73648   168.31366   17.9/0:105 Pacific/Efate Port-Vila
WF WLF XPF     -  -13.28163  -176.17453    2.6/0:200 Pacific/Wallis Mata-Utu
WS WSM WST    15  -13.83333  -171.76666 17.3/115:260 Pacific/Apia Apia
YE YEM YER     -   15.35452    44.20646            - Asia/Aden Sanaa
YT MYT EUR     -  -12.78234    45.22878          0.3 Indian/Mayotte Mamoudzou
ZA ZAF ZAR    15 -25.747868   28.229271            - Africa/Johannesburg Pretoria
ZM ZMB ZMW    16  -15.40669    28.28713            - Africa/Lusaka Lusaka
ZW ZWE USD  15.5  -17.82772    31.05337            - Africa/Harare Harare
"""


def _geometry(text: str) -> tuple[float | None, tuple[float, float] | None]:
    if text == "-":
        return None, None
    reach, _, arc = text.partition("/")
    if not arc:
        return float(reach), None
    start, end = arc.split(":")
    return float(reach), (float(start), float(end))


def _parse(table: str) -> dict[str, CountryFacts]:
    countries: dict[str, CountryFacts] = {}
    for line in table.strip().splitlines():
        code, alpha3, currency, vat, lat, lon, geometry, zone, city = line.split(maxsplit=8)
        reach, bearings = _geometry(geometry)
        countries[code] = CountryFacts(
            alpha3=alpha3,
            currency=currency,
            vat_percent=None if vat == "-" else float(vat),
            capital=city,
            latitude=float(lat),
            longitude=float(lon),
            time_zone=zone,
            reach_km=reach,
            bearings=bearings,
        )
    return countries


COUNTRIES: dict[str, CountryFacts] = _parse(_TABLE)
