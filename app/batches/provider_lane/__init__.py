"""provider_lane"""
