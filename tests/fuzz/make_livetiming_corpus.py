#!/usr/bin/env python3
"""Writes the livetiming fuzzer's seed corpus (tests/fuzz/corpus/livetiming/).

Synthetic lines in the F1 live-timing feed's format (made up values, no real
data), one seed per input kind of tests/fuzz/livetiming_fuzz.cc: a session
directory of .jsonStream files (the mode byte picks the topics of its four
NUL-separated files), a FastF1 live-data file, and messages for the live
client's parser. Run it again after changing the harness's input format."""
import base64
import json
import pathlib
import zlib

TOPICS = ["TimingData", "TimingAppData", "TrackStatus", "RaceControlMessages", "LapCount", "SessionStatus",
          "SessionInfo", "WeatherData", "DriverList", "CarData.z", "Position.z"]
OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "livetiming"


def z(obj):
    c = zlib.compressobj(wbits=-15)
    return base64.b64encode(c.compress(json.dumps(obj).encode()) + c.flush()).decode()


def line(t, obj):
    return f"{t}{json.dumps(obj, separators=(',', ':'))}"


CAR = {"Entries": [{"Utc": "2023-03-05T15:05:00.1Z", "Cars": {
    "1": {"Channels": {"0": 11000, "2": 287, "3": 7, "4": 99, "5": 0, "45": 8}},
    "44": {"Channels": {"0": 10500, "2": 280, "3": 7, "4": 100, "5": 0, "45": 0}}}}]}
POS = {"Position": [{"Timestamp": "2023-03-05T15:05:00.2Z", "Entries": {
    "1": {"Status": "OnTrack", "X": 120, "Y": -340, "Z": 5}, "44": {"Status": "OnTrack", "X": 100, "Y": -300, "Z": 5}}}]}
BODIES = {
    "TimingData": [
        line("01:03:00.000", {"Lines": {"1": {"NumberOfLaps": 1, "Position": "1", "InPit": False}}}),
        line("01:04:30.500", {"Lines": {"1": {"Sectors": {"0": {"Value": "30.101"}, "1": {"Value": "40.2"},
                                                        "2": {"Value": "25.05"}}}}}),
        line("01:04:31.000", {"Lines": {"1": {"NumberOfLaps": 2, "LastLapTime": {"Value": "1:35.351"}}}}),
        line("01:06:05.000", {"Lines": {"1": {"InPit": True}, "44": {"NumberOfLaps": 2}}}),
        line("01:06:29.000", {"Lines": {"1": {"InPit": False, "PitOut": True, "NumberOfLaps": 3,
                                              "LastLapTime": {"Value": "1:58.002"}}}}),
    ],
    "TimingAppData": [
        line("01:02:00.000", {"Lines": {"1": {"RacingNumber": "1", "Stints": [
            {"LapFlags": 0, "Compound": "SOFT", "New": "true", "TotalLaps": 0, "StartLaps": 0}]}}}),
        line("01:06:30.000", {"Lines": {"1": {"Stints": {"1": {"Compound": "HARD", "New": "true",
                                                              "TotalLaps": 0}}}}}),
    ],
    "TrackStatus": [line("01:05:00.000", {"Status": "4", "Message": "SCDeployed"}),
                    line("01:07:00.000", {"Status": "1", "Message": "AllClear"})],
    "RaceControlMessages": [
        line("00:18:58.418", {"Messages": [{"Utc": "2023-03-05T14:20:00", "Lap": 1, "Category": "Flag",
                                           "Flag": "GREEN", "Message": "GREEN LIGHT - PIT EXIT OPEN"}]}),
        line("01:05:00.100", {"Messages": {"1": {"Utc": "2023-03-05T15:06:02", "Lap": 2,
                                                 "Category": "SafetyCar", "Message": "SAFETY CAR DEPLOYED"}}}),
    ],
    "LapCount": [line("00:00:01.095", {"CurrentLap": 1, "TotalLaps": 57}),
                 line("01:04:15.900", {"CurrentLap": 2})],
    "SessionStatus": [line("00:00:05.361", {"Status": "Inactive"}), line("01:02:36.652", {"Status": "Started"})],
    "SessionInfo": [line("00:00:00.000", {"Meeting": {"Name": "Test Grand Prix"}, "Type": "Race",
                                          "StartDate": "2023-03-05T18:00:00", "GmtOffset": "03:00:00"})],
    "WeatherData": [line("01:03:00.000", {"AirTemp": "27.1", "Humidity": "40.0", "Pressure": "1010.2",
                                          "Rainfall": "0", "TrackTemp": "33.5", "WindDirection": "120",
                                          "WindSpeed": "1.2"})],
    "DriverList": [line("00:00:04.939", {"1": {"RacingNumber": "1", "Tla": "AAA", "Line": 1},
                                         "44": {"RacingNumber": "44", "Tla": "BBB", "Line": 2}})],
    "CarData.z": [f'01:05:00.150"{z(CAR)}"'],
    "Position.z": [f'01:05:00.250"{z(POS)}"'],
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():
        p.unlink()
    # Directories: mode = 8 k (+ 4 for StartUtc.txt); file i gets TOPICS[(k + 5 i) % 11].
    for k in range(11):
        for start in (0, 4):
            mode = 8 * k + start
            files = []
            for i in range(4):
                topic = TOPICS[(k + i * 5) % len(TOPICS)]
                files.append("\ufeff" + "\n".join(BODIES[topic]) + "\n")
            (OUT / f"dir-{k:02d}{'-start' if start else ''}").write_bytes(
                bytes([mode]) + "\0".join(files).encode())
    # FastF1 live-data file: ['Topic', data, 'time'] in Python repr.
    rows = [
        "['TimingData', {'Lines': {'1': {'NumberOfLaps': 1, 'InPit': False}}}, '2023-03-05T15:03:00.000Z']",
        "['TimingAppData', {'Lines': {'1': {'Stints': [{'Compound': 'MEDIUM', 'New': 'true', 'TotalLaps': 0}]}}}, "
        "'2023-03-05T15:03:00.100Z']",
        f"['CarData.z', '{z(CAR)}', '2023-03-05T15:05:00.150Z']",
        f"['Position.z', '{z(POS)}', '2023-03-05T15:05:00.250Z']",
        "['TimingData', {'Lines': {'1': {'NumberOfLaps': 2, 'LastLapTime': {'Value': '1:35.351'}}}}, "
        "'2023-03-05T15:04:35.000Z']",
        "['TrackStatus', {'Status': '6', 'Message': 'VSCDeployed'}, '2023-03-05T15:05:00.000Z']",
        "['Heartbeat', {'Utc': '2023-03-05T15:05:01.000Z'}, '2023-03-05T15:05:01.000Z']",
    ]
    (OUT / "livedata").write_bytes(bytes([1]) + ("\n".join(rows) + "\n").encode())
    # The live client's parser: a topic byte, then the message data.
    msgs = []
    for topic, body in BODIES.items():
        for l in body:
            msgs.append(bytes([TOPICS.index(topic)]) + l[12:].encode())
    (OUT / "parser").write_bytes(bytes([2]) + b"\n".join(msgs) + b"\n")


if __name__ == "__main__":
    main()
