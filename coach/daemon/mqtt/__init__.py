"""Home Assistant over MQTT: the bridge (its thread and broker connection) and what it says
(discovery, state, events)."""

from coach.daemon.mqtt.bridge import MqttBridge

__all__ = ["MqttBridge"]
