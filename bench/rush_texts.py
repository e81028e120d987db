"""Requests for the rush bench: the labelled busy evening (tests/data/incident_requests.yaml) and more unrelated
requests, every one a different problem (no two would be grouped into an incident; checked when the bench starts)."""

from __future__ import annotations

from datetime import datetime, timezone

import yaml

from bot.domain.incidents import OpenRequest, incident_for
from tests.support.processes import ROOT

EVENING = yaml.safe_load((ROOT / "tests" / "data" / "incident_requests.yaml").read_text(encoding="utf-8"))
INCIDENTS: dict[str, list[str]] = EVENING["incidents"]

# Written like the fixture's unrelated requests: what operations colleagues ask #backend on any afternoon.
EXTRA = [
    "Kunde kann die Rechnung im Händlerportal nicht herunterladen",
    "API-Key für Händler Bergmann läuft morgen ab, bitte verlängern",
    "Scanner im Hub Dortmund verbindet sich nicht mit dem WLAN",
    "Retourenlabel für Sendung A-448200 fehlt komplett",
    "Fahrerabrechnung November zeigt falsche Kilometer",
    "Webhook an Shopify liefert 401 Unauthorized",
    "Postleitzahl 01099 wird bei der Zonenzuordnung nicht gefunden",
    "CSV-Import der Stammdaten bricht bei Zeile 312 ab",
    "Push-Benachrichtigungen der Empfänger-App kommen doppelt",
    "Wie ändere ich das Lieferfenster für einen Großkunden?",
    "Neuer Mitarbeiter im Hub Essen braucht einen Login",
    "Preisliste 2027 für Expresszustellung ist noch nicht hinterlegt",
    "Gewicht bei Paketen aus Waage 3 wird in Gramm statt Kilo übernommen",
    "Sammelrechnung Dezember enthält Stornos vom Oktober",
    "Zustellfoto wird in der Sendungsverfolgung nicht angezeigt",
    "Kundendienst fragt: kann man eine Sendung nachträglich versichern?",
    "Barcode-Etiketten aus Hub Bremen sind nicht scannbar, zu blass",
    "Tourplanung hat Fahrer Schulz doppelt eingeplant",
    "E-Mail-Benachrichtigung an Händler kommt mit falscher Absenderadresse",
    "Statistik im Dashboard zeigt für gestern null Zustellungen",
    "Abholauftrag für Händler Lindner wurde nicht erzeugt",
    "Ladeliste für Nachtlinie Berlin-Hamburg fehlt",
    "Zollpapiere für Sendung in die Schweiz werden nicht generiert",
    "Wie viele Stopps darf eine Tour maximal haben?",
    "Fahrer-Tablet zeigt weißen Bildschirm nach Update",
    "Sendung A-448300 steht seit drei Tagen auf in Zustellung",
    "Gutschrift für beschädigtes Paket lässt sich nicht buchen",
    "Kundennummer 88231 ist zweimal angelegt, bitte zusammenführen",
    "Export für die Buchhaltung enthält keine Umsatzsteuer",
    "Kann ich einem Händler mehrere Abholadressen geben?",
    "Signatur des Empfängers fehlt im Zustellnachweis PDF",
    "Geofence für Hub Nürnberg ist falsch eingezeichnet",
    "Benutzerrolle Disponent sieht keine Fahrerliste mehr",
    "Paketshop Partner Kiosk Yilmaz bekommt keine Avisierung",
    "Rücksendungen aus Österreich landen im falschen Lager",
    "Schichtplan für Wochenende lässt sich nicht speichern",
    "Wie setze ich einen Fahrer auf inaktiv ohne Daten zu löschen?",
    "Kartenansicht lädt für Disponenten in Frankfurt extrem langsam",
    "Händler Nordlicht will Zustellungen nur vormittags, wo stelle ich das ein?",
    "Express-Zuschlag wird bei Sonntagszustellung doppelt berechnet",
    "Lagerplatz-Scan im Hub München bucht auf falsche Regalnummer",
    "Fahrzeug B-LF 2041 taucht in der Flottenliste nicht auf",
    "Passwort-Reset-Mail für Händlerportal kommt nicht an",
    "Kunde möchte Datenauskunft nach DSGVO, wer macht das?",
    "Sperrgut-Kennzeichen fehlt bei Sendungen von Möbelhaus Krone",
    "Trinkgeldfunktion in der Empfänger-App zeigt Fehler beim Bezahlen",
    "Tagesabschluss im Hub Kiel läuft seit einer Stunde",
    "Sprachauswahl Englisch in der Fahrer-App übersetzt nur die Hälfte",
    "Paketgröße XL wird beim Buchen nicht angeboten",
    "Nachnahmebeträge vom Freitag fehlen im Kassenbericht",
    "Wer kann mir die Rechte für das Reporting-Tool geben?",
    "Händlerlogo wird auf dem Versandlabel verzerrt gedruckt",
    "Zustellversuch wird als erfolgreich markiert obwohl niemand da war",
    "Lieferadresse mit Hausnummerzusatz 12a wird abgeschnitten",
    "Pausenzeiten der Fahrer werden in der Tourplanung ignoriert",
    "Kühlkette: Temperaturlogger-Daten kommen nicht im System an",
    "Bulk-Storno von 40 Aufträgen ist hängen geblieben",
    "Dispo-Ansicht zeigt Touren von morgen schon als gestartet",
    "Adressvalidierung schlägt bei neuen Straßen in Potsdam fehl",
    "Fahrer bekommt Touren anderer Hubs angezeigt",
]


def distinct_pool() -> list[str]:
    """The fixture's unrelated requests and the ones above, keeping only those no earlier one would group with."""
    at = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)
    kept: list[str] = []
    for text in [*EVENING["unrelated"], *EXTRA]:
        if incident_for(text, at, [OpenRequest(str(i), other, at) for i, other in enumerate(kept)]) is None:
            kept.append(text)
    return kept
